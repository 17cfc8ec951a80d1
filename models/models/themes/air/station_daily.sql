-- Sichuan stations, one row per station and day: GB 3095 daily values and the daily AQI (HJ 633 日报).
--
-- Incremental (see macros/incremental_rows.sql): a build takes the station-days whose daily values
-- were computed since its last build, and every day of a station whose city or control flag changed
-- in dim_station; after a build in which days left int_air__station_daily_values, the post-hook
-- deletes them here too (`delete_rows_without_source`). The AQI of a day reads that day's values
-- and the HJ 633 tables alone; an edited HJ 633 table has int_air__station_hourly_aqi score every
-- hour again, so every day's values are computed again and reach this model. The table thus equals
-- a full rebuild.
{{ config(
    materialized='incremental',
    unique_key=['station_code', 'observed_date'],
    post_hook=[
        "{% if is_incremental() %}{{ delete_rows_without_source(ref('int_air__station_daily_values'), "
        "['station_code', 'observed_date'], {'pollutant_code': 'o3'}) }}{% endif %}",
    ],
) }}
{%- set state = incremental_state() %}
{%- set changed_stations = air_stations_changed() if state is not none else [] %}
with

daily_values as (
    select * exclude (n_hours, standards_digest, refreshed_at)
    from {{ ref('int_air__station_daily_values') }}
    {%- if state is not none %}
    semi join (
        select distinct station_code, observed_date from {{ ref('int_air__station_daily_values') }}
        where refreshed_at > {{ state.since }}
        {%- if changed_stations %}
        union
        select distinct station_code, observed_date from {{ ref('int_air__station_daily_values') }}
        where station_code in {{ sql_string_list(changed_stations) }}
        {%- endif %}
    ) using (station_code, observed_date)
    {%- endif %}
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
    s.is_control_station,
    {{ refreshed_at() }} as refreshed_at
from quality as q
join stations as s using (station_code)
