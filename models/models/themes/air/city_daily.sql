-- Sichuan cities, one row per city and day: the mean of the city's non-control stations' valid
-- daily values (HJ 663), rounded per GB/T 8170, and the daily AQI from them.
with

station_values as (
    select v.*, s.region_code
    from {{ ref('int_air__station_daily_values') }} as v
    join {{ ref('dim_station') }} as s using (station_code)
    where not s.is_control_station and s.region_code is not null and v.value is not null
),

pollutants as (
    select * from {{ source('standards', 'air_pollutants') }}
),

city_values as (
    select
        v.region_code,
        v.observed_date,
        v.pollutant_code,
        {{ round_gbt8170('avg(v.value)', 'any_value(p.report_decimals)') }} as value,
        count(*) as n_stations
    from station_values as v
    join pollutants as p using (pollutant_code)
    group by v.region_code, v.observed_date, v.pollutant_code
),

quality as (
    {{ daily_air_quality('city_values', ['region_code', 'observed_date']) }}
),

stations_reporting as (
    select region_code, observed_date, max(n_stations) as stations_reporting
    from city_values
    group by region_code, observed_date
)

select
    q.region_code,
    q.observed_date,
    q.pm2_5::decimal(10, 1) as pm2_5,
    q.pm10::decimal(10, 1) as pm10,
    q.so2::decimal(10, 1) as so2,
    q.no2::decimal(10, 1) as no2,
    q.co::decimal(10, 1) as co,
    q.o3_8h::decimal(10, 1) as o3_8h,
    q.o3::decimal(10, 1) as o3,
    q.aqi,
    q.aqi_level,
    q.aqi_category,
    q.aqi_category_en,
    q.primary_pollutants,
    q.aqi_standard,
    r.stations_reporting
from quality as q
join stations_reporting as r using (region_code, observed_date)
