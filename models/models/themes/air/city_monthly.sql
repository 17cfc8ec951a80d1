-- Sichuan cities per month: valid and good days, good-day ratio, and the HJ 663 statistics of the
-- daily values; a pollutant's month is valid with the GB 3095 minimum days (February fewer).
with

months as (
    {{ city_period_air_quality('month') }}
),

validity as (
    select
        max(min_values) filter (where statistic = 'monthly_days') as min_days,
        max(min_values) filter (where statistic = 'february_days') as min_days_february
    from {{ source('standards', 'gb3095_validity') }}
)

select
    m.region_code,
    m.period_start as month_start,
    m.valid_days,
    m.good_days,
    m.polluted_days,
    m.good_day_ratio::decimal(6, 4) as good_day_ratio,
    m.pm2_5_statistic::decimal(10, 1) as pm2_5,
    m.pm10_statistic::decimal(10, 1) as pm10,
    m.so2_statistic::decimal(10, 1) as so2,
    m.no2_statistic::decimal(10, 1) as no2,
    m.co_statistic::decimal(10, 2) as co_p95,
    m.o3_8h_statistic::decimal(10, 1) as o3_8h_p90,
    m.pm2_5_days >= case when month(m.period_start) = 2 then v.min_days_february else v.min_days end
        as is_pm2_5_valid
from months as m
cross join validity as v
