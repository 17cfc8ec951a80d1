{# Post-hook of int_air__station_daily_values: after a build that computed every day again (hours
   were deleted upstream), delete the station-days that no longer have any hour. Each station-day
   has one 'o3' row (the daily 1-hour maximum) carrying the day's count of hours, so the counts add
   up to air.station_hourly's rows exactly when no such day is left; then nothing is deleted. #}
{% macro delete_air_days_without_hours() -%}
    {%- set check -%}
        select
            (select coalesce(sum(n_hours), 0) from {{ this }} where pollutant_code = 'o3')
            = (select count(*) from {{ ref('station_hourly') }})
    {%- endset -%}
    {%- if execute and not run_query(check).columns[0].values()[0] -%}
        delete from {{ this }} as t
        where not exists (
            select 1 from {{ ref('station_hourly') }} as h
            where h.station_code = t.station_code and {{ air_day('h.observed_at') }} = t.observed_date
        )
    {%- endif -%}
{%- endmacro %}
