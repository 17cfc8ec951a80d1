-- Scoreboard values of the air indicators per region (21 cities and the province 510000) and
-- period (month, ytd, year): good days over valid days, and the mean of the daily PM2.5 values.
with

months as (
    select distinct month_start from {{ ref('city_monthly') }}
),

periods as (
    {{ assessment_periods('months') }}
),

-- air: good days over valid days, summed over the months (the province: over its cities)
air_days as (
    select p.period_type, p.period_start, p.period_end, c.region_code,
           sum(c.good_days) as numerator, sum(c.valid_days) as denominator
    from periods p
    join {{ ref('city_monthly') }} c on c.month_start between p.m_from and p.m_to
    group by all
),

good_days as (
    {{ pooled_share('air_good_day_ratio', 'air_days') }}
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
)

select * from good_days
union all by name
select * from pm2_5
