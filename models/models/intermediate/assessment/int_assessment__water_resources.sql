-- Scoreboard values of eco-flow satisfaction (重点河湖生态流量保障) per region — each section's city
-- (core.dim_flow_section), and the province 510000 over every section — and period (month, ytd,
-- year): satisfied section-days ÷ calendar section-days. The denominator is calendar days, not
-- days measured: a day without a measured flow (not delivered, blank, refused) is a day the flow
-- cannot be shown to have been satisfied, so it counts as not satisfied (int_water__eco_flow_section_days).
with

monthly as (
    select * from {{ ref('eco_flow_monthly') }}
),

months as (
    select distinct month_start from monthly
),

periods as (
    {{ assessment_periods('months') }}
),

city_days as (
    select p.period_type, p.period_start, p.period_end, m.region_code,
           sum(m.days_satisfied) as numerator, sum(m.calendar_days) as denominator
    from periods p
    join monthly m on m.month_start between p.m_from and p.m_to
    group by all
)

{{ pooled_share('eco_flow_satisfaction', 'city_days') }}
