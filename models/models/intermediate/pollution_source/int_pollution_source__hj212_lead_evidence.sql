-- Evidence rows of the enforcement leads drawn from HJ 212 data, one rule per CTE, thresholds from
-- standards.hj212_anomaly_rules. A row names its lead (rule, outlet, the lead's pollutant when the
-- rule is about one, lead_start) and the record that supports it; anomaly_leads groups them.
with

params as (
    select
        max(try_cast(value as double)) filter (where rule = 'flatline' and parameter = 'min_hours') as flatline_hours,
        max(try_cast(value as double)) filter (where rule = 'zero_variance' and parameter = 'min_hours') as zero_variance_hours,
        max(try_cast(value as double)) filter (where rule = 'missing_data' and parameter = 'max_missing_share') as max_missing_share,
        max(string_split(value, '|')) filter (where rule = 'frequent_flags' and parameter = 'flags') as counted_flags,
        max(try_cast(value as double)) filter (where rule = 'frequent_flags' and parameter = 'max_minutes') as max_flag_minutes,
        max(try_cast(value as double)) filter (where rule = 'near_limit' and parameter = 'band_low') as near_band_low,
        max(try_cast(value as double)) filter (where rule = 'near_limit' and parameter = 'min_hours') as near_min_hours
    from {{ source('standards', 'hj212_anomaly_rules') }}
),

minute as (
    select * from {{ ref('outlet_minute_values') }}
),

hourly as (
    select * from {{ ref('outlet_hourly_values') }}
),

-- flatline: the same minute Avg, flag N, minute after minute
flat_marked as (
    select
        outlet_mn, pollutant_code, data_time, avg_value, flag,
        case
            when flag = 'N'
                and lag(flag) over w = 'N'
                and avg_value = lag(avg_value) over w
                and data_time = lag(data_time) over w + interval 1 minute
            then 0 else 1
        end as starts_run
    from minute
    window w as (partition by outlet_mn, pollutant_code order by data_time)
),

flat_runs as (
    select *, sum(starts_run) over (partition by outlet_mn, pollutant_code order by data_time) as run
    from flat_marked
),

flatline as (
    select
        'flatline' as rule, r.outlet_mn, r.pollutant_code as lead_pollutant_code, r.pollutant_code,
        min(r.data_time) over run_rows as lead_start,
        count(*) over run_rows / 60.0 as measure,
        p.flatline_hours as threshold,
        '2051' as command_code, r.data_time, null::timestamp as data_time_end,
        'Avg' as field, r.avg_value as value, r.flag,
        'minute Avg unchanged' as note
    from flat_runs as r, params as p
    where r.flag = 'N'
    window run_rows as (partition by r.outlet_mn, r.pollutant_code, r.run)
    qualify count(*) over run_rows >= p.flatline_hours * 60
),

-- zero variance: hourly records flagged N with Min = Max
zero_hours as (
    select h.*, count(*) over (partition by outlet_mn, pollutant_code, data_time::date) as hours
    from hourly as h
    where flag = 'N' and min_value = max_value
),

zero_variance as (
    select
        'zero_variance' as rule, z.outlet_mn, z.pollutant_code as lead_pollutant_code, z.pollutant_code,
        z.data_time::date::timestamp as lead_start,
        z.hours::double as measure,
        p.zero_variance_hours as threshold,
        '2061' as command_code, z.data_time, null::timestamp as data_time_end,
        'Min=Max' as field, z.min_value as value, z.flag,
        'hourly Min equals Max with flag N' as note
    from zero_hours as z, params as p
    where z.hours >= p.zero_variance_hours
),

-- missing data: an outlet-day short of its expected minute records; the evidence is each gap
short_days as (
    select t.outlet_mn, t.rate_date, t.expected_records, t.received_records, p.max_missing_share
    from {{ ref('transmission_rates') }} as t, params as p
    where 1 - t.received_records / t.expected_records > p.max_missing_share
),

marks as (  -- the minutes received, and a mark just before and just after the day
    select distinct s.outlet_mn, s.rate_date, m.data_time
    from short_days as s
    join minute as m on m.outlet_mn = s.outlet_mn and m.data_time::date = s.rate_date
    union all
    select outlet_mn, rate_date, rate_date::timestamp - interval 1 minute from short_days
    union all
    select outlet_mn, rate_date, rate_date::timestamp + interval 1 day from short_days
),

gaps as (
    select
        outlet_mn, rate_date,
        lag(data_time) over w + interval 1 minute as gap_start,
        data_time - interval 1 minute as gap_end
    from marks
    window w as (partition by outlet_mn, rate_date order by data_time)
    qualify data_time - lag(data_time) over w > interval 1 minute
),

missing_data as (
    select
        'missing_data' as rule, g.outlet_mn, null::varchar as lead_pollutant_code, null::varchar as pollutant_code,
        g.rate_date::timestamp as lead_start,
        round(1 - s.received_records / s.expected_records, 4) as measure,
        s.max_missing_share as threshold,
        '2051' as command_code, g.gap_start as data_time, g.gap_end as data_time_end,
        'minutes' as field, date_diff('minute', g.gap_start, g.gap_end) + 1.0 as value, null::varchar as flag,
        'no minute record received' as note
    from gaps as g
    join short_days as s using (outlet_mn, rate_date)
),

-- maintenance and calibration flags on more minutes of a day than the rule allows
flagged as (
    select
        m.*,
        count(distinct m.data_time) over (partition by m.outlet_mn, m.data_time::date) as flagged_minutes
    from minute as m, params as p
    where list_contains(p.counted_flags, m.flag)
),

frequent_flags as (
    select
        'frequent_flags' as rule, f.outlet_mn, null::varchar as lead_pollutant_code, f.pollutant_code,
        f.data_time::date::timestamp as lead_start,
        f.flagged_minutes::double as measure,
        p.max_flag_minutes as threshold,
        '2051' as command_code, f.data_time, null::timestamp as data_time_end,
        'Avg' as field, f.avg_value as value, f.flag,
        'minute flagged ' || f.flag as note
    from flagged as f, params as p
    where f.flagged_minutes > p.max_flag_minutes
),

-- hours just under the permitted upper limit
near as (
    select
        h.outlet_mn, h.pollutant_code, h.data_time, h.flag,
        coalesce(h.zs_avg_value, h.avg_value) as value,
        case when h.zs_avg_value is not null then 'ZsAvg' else 'Avg' end as field,
        l.limit_upper::double as limit_upper
    from hourly as h
    join {{ ref('permitted_limits') }} as l using (outlet_mn, pollutant_code)
    cross join params as p
    where h.flag = 'N'
        and coalesce(h.zs_avg_value, h.avg_value) >= p.near_band_low * l.limit_upper
        and coalesce(h.zs_avg_value, h.avg_value) <= l.limit_upper
),

near_counted as (
    select *, count(*) over (partition by outlet_mn, pollutant_code, data_time::date) as hours from near
),

near_limit as (
    select
        'near_limit' as rule, n.outlet_mn, n.pollutant_code as lead_pollutant_code, n.pollutant_code,
        n.data_time::date::timestamp as lead_start,
        n.hours::double as measure,
        p.near_min_hours as threshold,
        '2061' as command_code, n.data_time, null::timestamp as data_time_end,
        n.field, n.value, n.flag,
        printf('%.1f%% of the upper limit %g', 100 * n.value / n.limit_upper, n.limit_upper) as note
    from near_counted as n, params as p
    where n.hours >= p.near_min_hours
),

evidence as (
    select * from flatline
    union all by name select * from zero_variance
    union all by name select * from missing_data
    union all by name select * from frequent_flags
    union all by name select * from near_limit
)

select
    md5(concat_ws('|', rule, outlet_mn, coalesce(lead_pollutant_code, ''), strftime(lead_start, '%Y-%m-%d %H:%M'))) as lead_id,
    *
from evidence
