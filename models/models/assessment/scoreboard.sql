-- The action plan's scoreboard: one row per indicator, region (the province 510000 and its 21
-- cities), period type (month, ytd = January to the month, year) and period, with the target and
-- whether the value is on track (targets and comparisons: standards.action_plan_targets).
-- Indicators whose datasets are not modelled yet have no rows.
with

cities as (
    select region_code from {{ source('standards', 'region') }} where level = 'city'
),

months as (
    select distinct month_start from {{ ref('city_monthly') }}
    union select distinct month_start from {{ ref('section_monthly') }}
),

periods as (  -- every month, the year so far at every month, and every year
    select 'month' as period_type, month_start as period_start, month_start as period_end, month_start as m_from,
           month_start as m_to from months
    union all
    select 'ytd', date_trunc('year', month_start)::date, month_start, date_trunc('year', month_start)::date,
           month_start from months
    union all
    select distinct 'year', date_trunc('year', month_start)::date, max(month_start) over (partition by year(month_start)),
           date_trunc('year', month_start)::date, max(month_start) over (partition by year(month_start)) from months
),

-- air: good days over valid days, summed over the months (the province: over its cities)
air_days as (
    select p.period_type, p.period_start, p.period_end, c.region_code,
           sum(c.good_days) as good_days, sum(c.valid_days) as valid_days
    from periods p
    join {{ ref('city_monthly') }} c on c.month_start between p.m_from and p.m_to
    group by all
),

good_days as (
    select 'air_good_day_ratio' as indicator_code, period_type, period_start, period_end, region_code,
           good_days / nullif(valid_days, 0) as value
    from air_days
    union all
    select 'air_good_day_ratio', period_type, period_start, period_end, '510000',
           sum(good_days) / nullif(sum(valid_days), 0)
    from air_days group by all
),

-- air: mean of the daily PM2.5 values (the province: mean of its cities' means)
pm2_5_city as (
    select p.period_type, p.period_start, p.period_end, d.region_code, avg(d.pm2_5) as value
    from periods p
    join {{ ref('city_daily') }} d on date_trunc('month', d.observed_date) between p.m_from and p.m_to
    group by all
),

pm2_5 as (
    select 'air_pm2_5_mean' as indicator_code, period_type, period_start, period_end, region_code, value
    from pm2_5_city
    union all
    select 'air_pm2_5_mean', period_type, period_start, period_end, '510000', avg(value)
    from pm2_5_city group by all
),

-- water: national (国考) sections' classes per period (ytd and year: classed on mean values)
national as (
    select
        s.period_type,
        s.period_start,
        case s.period_type  -- a year ends at its last month with data, whatever each section's last month
            when 'year' then max(s.period_end) over (partition by s.period_type, s.period_start)
            else s.period_end
        end as period_end,
        d.region_code,
        s.class_code,
        s.target_class_code
    from {{ ref('int_water__section_period_class') }} s
    join {{ ref('dim_section') }} d using (section_code)
    where d.section_level = '国考' and s.class_code is not null
),

water as (
    select 'water_national_section_compliance' as indicator_code, period_type, period_start, period_end,
           region_code, avg((class_code <= target_class_code)::integer) as value
    from national group by all
    union all
    select 'water_national_section_compliance', period_type, period_start, period_end, '510000',
           avg((class_code <= target_class_code)::integer)
    from national group by all
    union all
    select 'water_national_worse_than_v', period_type, period_start, period_end, region_code,
           count(*) filter (where class_code = 6)
    from national group by all
    union all
    select 'water_national_worse_than_v', period_type, period_start, period_end, '510000',
           count(*) filter (where class_code = 6)
    from national group by all
),

measured as (
    select * from good_days
    union all select * from pm2_5
    union all select * from water
)

select
    m.indicator_code,
    t.name_zh as indicator_name,
    t.name_en as indicator_name_en,
    m.region_code,
    m.period_type,
    m.period_start,
    m.period_end,
    m.value::decimal(12, 4) as value,
    t.unit,
    t.target,
    t.comparison,
    case t.comparison when '>=' then m.value >= t.target when '<=' then m.value <= t.target end as is_on_track,
    string_split(t.source_datasets, '; ') as source_datasets
from measured m
join {{ source('standards', 'action_plan_targets') }} t using (indicator_code)
where m.region_code = '510000' or m.region_code in (select region_code from cities)
