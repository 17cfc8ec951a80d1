-- Daily values per station and pollutant (long): day D is the hours labelled D 01:00 … D+1 00:00.
-- 24-hour means need the minimum hours of GB 3095 Table 4; O3's daily maximum 8-hour mean is over
-- the 8-hour means ending D 08:00 … D+1 00:00, each from at least 6 hours, and needs the minimum
-- count of valid 8-hour means. Values are rounded per GB/T 8170 (half to even) to the reporting
-- precision of standards.air_pollutants.
--
-- Incremental (see macros/incremental_rows.sql): a build computes again only the station-days with
-- an hour refreshed in air.station_hourly since its last build. Rows keep the day's count of hours:
-- when hours were deleted upstream instead (a re-run batch, a station leaving Sichuan) the counts
-- no longer add up, and the build computes every day again, then deletes days left without hours
-- (`delete_air_days_without_hours`). Every statistic of a station-day reads that day's hours
-- alone, so the table equals a full rebuild.
{%- set standards_digest -%}
    select {{ inputs_digest([source('standards', 'air_pollutants'), source('standards', 'gb3095_validity')]) }}
{%- endset %}
{{ config(
    materialized='incremental',
    unique_key=['station_code', 'observed_date'],
    post_hook=[
        "{% if is_incremental() %}{{ delete_air_days_without_hours() }}{% endif %}",
        "{% if is_incremental() %}{{ delete_stale_digest('standards_digest') }}{% endif %}",
    ],
) }}
{%- set state = incremental_state(['refreshed_at', 'n_hours'], 'standards_digest', standards_digest) %}
{%- if state is not none %}
    {#- hours deleted upstream since the last build: the hours of the days not touched since must
        still be the ones counted then -#}
    {%- set vanished_query -%}
        with
        hours as (
            select station_code, {{ air_day('observed_at') }} as observed_date, refreshed_at
            from {{ ref('station_hourly') }}
        ),
        touched as (select distinct station_code, observed_date from hours where refreshed_at > {{ state.since }}),
        counted as (select station_code, observed_date, n_hours from {{ this }} where pollutant_code = 'o3')
        select
            (select sum(n_hours) from counted anti join touched using (station_code, observed_date))
            - (select count(*) from hours anti join touched using (station_code, observed_date))
    {%- endset -%}
    {%- if run_query(vanished_query).columns[0].values()[0] != 0 -%}
        {%- set state = none -%}
    {%- endif -%}
{%- endif %}
with

hourly as (
    select * from (
        select
            station_code,
            observed_at,
            {{ air_day('observed_at') }} as observed_date,
            pm2_5, pm10, so2, no2, co, o3
        from {{ ref('station_hourly') }}
    )
    {%- if state is not none %}
    semi join (
        select distinct station_code, {{ air_day('observed_at') }} as observed_date
        from {{ ref('station_hourly') }}
        where refreshed_at > {{ state.since }}
    ) using (station_code, observed_date)
    {%- endif %}
),

day_hours as (
    select station_code, observed_date, count(*) as n_hours from hourly group by station_code, observed_date
),

pollutants as (
    select * from {{ source('standards', 'air_pollutants') }}
),

validity as (
    select statistic, min_values from {{ source('standards', 'gb3095_validity') }}
),

long_hours as (
    unpivot (select station_code, observed_date, pm2_5, pm10, so2, no2, co from hourly)
    on pm2_5, pm10, so2, no2, co
    into name pollutant_code value value
),

daily_means as (
    select
        l.station_code,
        l.observed_date,
        l.pollutant_code,
        count(*) as n_values,
        case when count(*) >= any_value(v.min_values)
            then {{ round_gbt8170('avg(l.value)', 'any_value(p.report_decimals)') }} end as value
    from long_hours as l
    join pollutants as p using (pollutant_code)
    join validity as v on v.statistic = 'daily_mean_hours'
    group by l.station_code, l.observed_date, l.pollutant_code
),

station_day_hours as (
    -- every hour of every station-day, measured or not: an 8-hour mean ending at an hour whose
    -- row is missing still counts when 6 of its 8 hours are there
    select d.station_code, d.observed_date, d.observed_date + to_hours(h.hour) as observed_at
    from (select distinct station_code, observed_date from hourly) as d
    cross join range(1, 25) as h(hour)
),

o3_hours as (
    select g.station_code, g.observed_date, g.observed_at, h.o3
    from station_day_hours as g
    left join hourly as h using (station_code, observed_at)
),

o3_moving as (
    -- the 8-hour means of day D end at D 08:00 … D+1 00:00 and use only day D's hours
    select
        station_code,
        observed_at,
        observed_date,
        avg(o3) over w as o3_8h_mean,
        count(o3) over w as n_hours
    from o3_hours
    window w as (partition by station_code, observed_date order by observed_at
                 range between interval 7 hours preceding and current row)
),

o3_daily_max_8h as (
    select
        m.station_code,
        m.observed_date,
        'o3_8h' as pollutant_code,
        count(*) filter (where m.n_hours >= v8.min_values) as n_values,
        case when count(*) filter (where m.n_hours >= v8.min_values) >= any_value(vd.min_values)
            then {{ round_gbt8170('max(m.o3_8h_mean) filter (where m.n_hours >= v8.min_values)',
                                  'any_value(p.report_decimals)') }} end as value
    from o3_moving as m
    join validity as v8 on v8.statistic = 'moving_8h_hours'
    join validity as vd on vd.statistic = 'daily_max_8h_means'
    join pollutants as p on p.pollutant_code = 'o3_8h'
    where hour(m.observed_at) >= 8 or hour(m.observed_at) = 0
    group by m.station_code, m.observed_date
),

o3_daily_max_1h as (
    select
        h.station_code,
        h.observed_date,
        'o3' as pollutant_code,
        count(h.o3) as n_values,
        case when count(h.o3) >= any_value(v.min_values) then max(h.o3) end as value
    from hourly as h
    join validity as v on v.statistic = 'daily_mean_hours'
    group by h.station_code, h.observed_date
),

daily_values as (
    select * from daily_means
    union all
    select * from o3_daily_max_8h
    union all
    select * from o3_daily_max_1h
)

select
    v.*,
    d.n_hours,
    ({{ standards_digest }}) as standards_digest,
    {{ refreshed_at() }} as refreshed_at
from daily_values as v
join day_hours as d using (station_code, observed_date)
