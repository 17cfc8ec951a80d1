{#
  Daily air quality (日报) from long daily values.
  values: relation with key_columns (which include observed_date), pollutant_code
  (pm2_5, pm10, so2, no2, co: 24-hour means; o3_8h: daily max 8-hour mean; o3: daily max 1-hour)
  and value (NULL when not valid). Returns one wide row per key with the daily AQI.
#}
{% macro daily_air_quality(values, key_columns) -%}
{%- set keys = key_columns | join(', ') -%}
with
daily_measures as (
    select
        {{ keys }},
        observed_date as assessed_on,
        case pollutant_code
            when 'o3_8h' then 'o3_8h_max'
            when 'o3' then 'o3_1h_max'
            else pollutant_code || '_24h'
        end as measure,
        value
    from {{ values }}
),
daily_aqi as (
    {{ hj633_aqi('daily_measures', key_columns, 'daily') }}
),
wide as (
    select
        {{ keys }},
        max(value) filter (where pollutant_code = 'pm2_5') as pm2_5,
        max(value) filter (where pollutant_code = 'pm10') as pm10,
        max(value) filter (where pollutant_code = 'so2') as so2,
        max(value) filter (where pollutant_code = 'no2') as no2,
        max(value) filter (where pollutant_code = 'co') as co,
        max(value) filter (where pollutant_code = 'o3_8h') as o3_8h,
        max(value) filter (where pollutant_code = 'o3') as o3
    from {{ values }}
    group by {{ keys }}
)
select
    wide.*,
    daily_aqi.aqi,
    daily_aqi.aqi_level,
    daily_aqi.aqi_category,
    daily_aqi.aqi_category_en,
    daily_aqi.primary_pollutants,
    daily_aqi.aqi_standard
from wide
left join daily_aqi using ({{ keys }})
{%- endmacro %}
