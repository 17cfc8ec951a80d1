-- Hourly AQI (实时报) for every station-hour of the files, as CNEMC computes it, under the HJ 633
-- version in force at observed_at.
--
-- Incremental: a build scores only the station-hours whose current row is not the one scored
-- before (a new hour, or a later delivery of it: another delivery or line) and replaces those; the
-- post-hook removes station-hours no longer current (a batch re-run). The AQI of a row depends on
-- its own values and the HJ 633 standards tables alone; each row keeps a digest of those tables,
-- so an edited standard scores every row again. The table thus equals a full rebuild.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['station_code', 'observed_at'],
    on_schema_change='append_new_columns',
    post_hook=[
        "{% if is_incremental() %}delete from {{ this }} t where not exists (select 1 from "
        "{{ ref('int_air__station_hourly_current') }} c where c.station_code = t.station_code "
        "and c.observed_at = t.observed_at){% endif %}"
    ],
) }}
with

standards as (
    -- every row of the tables the score reads, in one hash
    select hash(
        (select list(t order by t) from {{ source('standards', 'hj633_versions') }} t),
        (select list(t order by t) from {{ source('standards', 'hj633_iaqi_breakpoints') }} t),
        (select list(t order by t) from {{ source('standards', 'hj633_aqi_inputs') }} t),
        (select list(t order by t) from {{ source('standards', 'hj633_above_range_rules') }} t),
        (select list(t order by t) from {{ source('standards', 'hj633_categories') }} t),
        (select list(t order by t) from {{ source('standards', 'air_pollutants') }} t)
    ) as standards_digest
),

current_rows as (
    select c.* from {{ ref('int_air__station_hourly_current') }} c
    {#- A table built before rows kept their standards digest is scored again in full (its
        missing column is then appended: on_schema_change), as a full rebuild would. -#}
    {% if is_incremental() and 'standards_digest' in (adapter.get_columns_in_relation(this) | map(attribute='name')) %}
    -- the row scored before for this station-hour, if it is still the current one under the same standards
    anti join {{ this }} t
        on t.station_code = c.station_code
        and t.observed_at = c.observed_at
        and t.delivery_id = c.delivery_id
        and t.source_line = c.source_line
        and t.standards_digest = (select standards_digest from standards)
    {% endif %}
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
    (select standards_digest from standards) as standards_digest
from current_rows
left join aqi using (station_code, observed_at)
