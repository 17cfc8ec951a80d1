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
           sum(m.days_satisfied) as days_satisfied, sum(m.calendar_days) as calendar_days
    from periods p
    join monthly m on m.month_start between p.m_from and p.m_to
    group by all
)

select 'eco_flow_satisfaction' as indicator_code, period_type, period_start, period_end, region_code,
       days_satisfied / calendar_days as value
from city_days
union all
select 'eco_flow_satisfaction', period_type, period_start, period_end, '510000',
       sum(days_satisfied) / sum(calendar_days)
from city_days
group by all
