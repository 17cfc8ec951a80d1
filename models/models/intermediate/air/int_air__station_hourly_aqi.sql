-- Hourly AQI (实时报) for every station-hour of the files, as CNEMC computes it, under the HJ 633
-- version in force at observed_at.
--
-- Incremental (see macros/incremental_rows.sql): a build scores only the station-hours refreshed in
-- int_air__station_hourly_current since its last build (a new hour, or a later delivery of it) and
-- replaces those; the post-hooks delete the rows of deliveries no longer published (a batch re-run)
-- and rows scored under other standards. The AQI of a row depends on its own values and the HJ 633
-- standards tables alone; each row keeps a digest of those tables, so an edited standard scores
-- every row again. The table thus equals a full rebuild.
{%- set standards_digest -%}
    select {{ inputs_digest([
        source('standards', 'hj633_versions'),
        source('standards', 'hj633_iaqi_breakpoints'),
        source('standards', 'hj633_aqi_inputs'),
        source('standards', 'hj633_above_range_rules'),
        source('standards', 'hj633_categories'),
        source('standards', 'air_pollutants'),
    ]) }}
{%- endset %}
{{ config(
    materialized='incremental',
    unique_key=['station_code', 'observed_at'],
    post_hook=[
        "{% if is_incremental() %}{{ delete_unpublished() }}{% endif %}",
        "{% if is_incremental() %}{{ delete_stale_digest('standards_digest') }}{% endif %}",
    ],
) }}
{%- set state = incremental_state(['refreshed_at'], 'standards_digest', standards_digest) %}
with

standards as (
    -- every row of the tables the score reads, in one hash
    {{ standards_digest }} as standards_digest
),

current_rows as (
    select c.* exclude (refreshed_at) from {{ ref('int_air__station_hourly_current') }} as c
    {%- if state is not none %}
    where c.refreshed_at > {{ state.since }}
    {%- endif %}
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
    aqi.aqi_standard,
    (select standards_digest from standards) as standards_digest,
    {{ refreshed_at() }} as refreshed_at
from current_rows
left join aqi using (station_code, observed_at)
