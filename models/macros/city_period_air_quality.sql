{#
  Air quality of each city over a period (month or year) from air.city_daily: valid days,
  good days (AQI levels 1–2, 优良), their ratio, and per pollutant the HJ 663 statistic
  (mean, or the 95th/90th percentile for CO and O3 8 h) with its day count, rounded per
  GB/T 8170 to the reporting precision.
  Percentiles follow HJ 663: k = 1 + (n−1)·p/100, linear between order statistics.
#}
{% macro city_period_air_quality(period) -%}
with
days as (
    select *, date_trunc('{{ period }}', observed_date)::date as period_start
    from {{ ref('city_daily') }}
),
statistics as (
    select * from {{ source('standards', 'hj663_annual_statistics') }}
),
day_counts as (
    select
        region_code,
        period_start,
        count(aqi) as valid_days,
        count(*) filter (where aqi_level <= 2) as good_days,
        count(*) filter (where aqi_level >= 3) as polluted_days
    from days
    group by region_code, period_start
),
long_days as (
    unpivot (select region_code, period_start, pm2_5, pm10, so2, no2, co, o3_8h from days)
    on pm2_5, pm10, so2, no2, co, o3_8h
    into name pollutant_code value value
),
ranked as (
    select
        l.region_code, l.period_start, l.pollutant_code, l.value, s.statistic,
        -- HJ 663: k = 1 + (n − 1)·p/100; X(s) + (X(s+1) − X(s))·(k − s), s = ⌊k⌋
        1 + (count(*) over per_pollutant - 1) * coalesce(s.percentile, 0) / 100.0 as k,
        row_number() over (per_pollutant order by l.value) as rank_in_period
    from long_days as l
    join statistics as s using (pollutant_code)
    where l.value is not null
    window per_pollutant as (partition by l.region_code, l.period_start, l.pollutant_code)
),
pollutant_statistics as (
    select
        r.region_code,
        r.period_start,
        r.pollutant_code,
        count(*) as n_days,
        {{ round_gbt8170("case any_value(r.statistic)
            when 'mean' then avg(r.value)
            when 'percentile' then
                max(r.value) filter (where r.rank_in_period = floor(r.k))
                + (coalesce(max(r.value) filter (where r.rank_in_period = floor(r.k) + 1),
                            max(r.value) filter (where r.rank_in_period = floor(r.k)))
                   - max(r.value) filter (where r.rank_in_period = floor(r.k)))
                  * (any_value(r.k) - floor(any_value(r.k)))
            end", 'any_value(p.report_decimals)') }} as value
    from ranked as r
    join {{ source('standards', 'air_pollutants') }} as p using (pollutant_code)
    group by r.region_code, r.period_start, r.pollutant_code
)
select
    c.region_code,
    c.period_start,
    c.valid_days,
    c.good_days,
    c.polluted_days,
    round(c.good_days / nullif(c.valid_days, 0), 4) as good_day_ratio,
    {%- for code in ['pm2_5', 'pm10', 'so2', 'no2', 'co', 'o3_8h'] %}
    max(p.value) filter (where p.pollutant_code = '{{ code }}') as {{ code }}_statistic,
    max(p.n_days) filter (where p.pollutant_code = '{{ code }}') as {{ code }}_days{{ ',' if not loop.last }}
    {%- endfor %}
from day_counts as c
left join pollutant_statistics as p using (region_code, period_start)
group by all
{%- endmacro %}
