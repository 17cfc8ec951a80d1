-- Hourly AQI (实时报) for every station-hour of the files, as CNEMC computes it, under the HJ 633
-- version in force at observed_at.
with

current_rows as (
    select * from {{ ref('int_air__station_hourly_current') }}
),

hourly_measures as (
    select
        station_code, observed_at, observed_at::date as assessed_on,
        so2_1h, no2_1h, co_1h, o3_1h, pm10_1h, pm2_5_1h, so2_24h
    from current_rows
),

measures as (
    -- nulls kept: a station-hour with nothing measured still gets its (NULL) AQI and standard
    from hourly_measures
    unpivot include nulls (value for measure in (so2_1h, no2_1h, co_1h, o3_1h, pm10_1h, pm2_5_1h, so2_24h))
),

aqi as (
    {{ hj633_aqi('measures', ['station_code', 'observed_at'], 'hourly') }}
)

select
    current_rows.*,
    aqi.aqi,
    aqi.aqi_level,
    aqi.aqi_category,
    aqi.aqi_category_en,
    aqi.primary_pollutants,
    aqi.aqi_standard
from current_rows
left join aqi using (station_code, observed_at)
