-- Sichuan stations, one row per station and day: GB 3095 daily values and the daily AQI (HJ 633 日报).
with

daily_values as (
    select * from {{ ref('int_air__station_daily_values') }}
),

quality as (
    {{ daily_air_quality('daily_values', ['station_code', 'observed_date']) }}
),

stations as (
    select * from {{ ref('dim_station') }}
)

select
    q.station_code,
    s.region_code,
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
    s.is_control_station
from quality as q
join stations as s using (station_code)
