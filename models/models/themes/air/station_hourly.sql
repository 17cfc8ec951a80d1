-- Sichuan stations, one row per station and hour (latest delivery), with the hourly AQI.
with

hourly as (
    select * from {{ ref('int_air__station_hourly_aqi') }}
),

stations as (
    select * from {{ ref('dim_station') }}
)

select
    h.station_code,
    s.region_code,
    h.observed_at,
    h.pm2_5_1h as pm2_5,
    h.pm10_1h as pm10,
    h.so2_1h as so2,
    h.no2_1h as no2,
    h.co_1h as co,
    h.o3_1h as o3,
    h.o3_8h,
    h.aqi,
    h.aqi_level,
    h.aqi_category,
    h.aqi_category_en,
    h.primary_pollutants,
    h.aqi_standard,
    h.published_aqi::integer as published_aqi,
    s.is_control_station,
    h.observed_at > h.arrived_at + interval 1 hour as is_future_dated,
    h.delivery_id,
    h.source_file,
    h.source_line
from hourly as h
join stations as s using (station_code)
where s.province_code = '510000'
