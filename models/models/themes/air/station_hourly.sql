-- Sichuan stations, one row per station and hour (latest delivery), with the hourly AQI.
--
-- Incremental (see macros/incremental_rows.sql): a build takes the hours scored since its last
-- build, and every hour of a station whose city, control flag or province changed in dim_station;
-- the post-hooks delete rows of deliveries no longer published and of stations no longer in
-- Sichuan. The table thus equals a full rebuild.
{{ config(
    materialized='incremental',
    unique_key=['station_code', 'observed_at'],
    post_hook=[
        "{% if is_incremental() %}{{ delete_unpublished() }}{% endif %}",
        "{% if is_incremental() %}delete from {{ this }} where station_code not in "
        "(select station_code from {{ ref('dim_station') }} where province_code = '510000'){% endif %}",
    ],
) }}
{%- set state = incremental_state() %}
{%- set changed_stations = air_stations_changed() if state is not none else [] %}
with

stations as (
    select * from {{ ref('dim_station') }}
),

hourly as (
    select * exclude (refreshed_at) from {{ ref('int_air__station_hourly_aqi') }}
    {%- if state is not none %}
    where refreshed_at > {{ state.since }}
    {%- if changed_stations %}
        or station_code in {{ sql_string_list(changed_stations) }}
    {%- endif %}
    {%- endif %}
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
    h.source_line,
    {{ refreshed_at() }} as refreshed_at
from hourly as h
join stations as s using (station_code)
where s.province_code = '510000'
