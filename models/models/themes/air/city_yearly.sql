-- Sichuan cities per year: valid and good days, good-day ratio, the HJ 663 annual statistics and
-- compliance with the GB 3095 grade II limits in force at the end of the year. A statistic is valid
-- (and assessed) only with the GB 3095 minimum days in the year and in every month (February fewer).
with

years as (
    {{ city_period_air_quality('year') }}
),

validity as (
    select
        max(min_values) filter (where statistic = 'annual_mean_days') as min_days,
        max(min_values) filter (where statistic = 'monthly_days') as min_days_month,
        max(min_values) filter (where statistic = 'february_days') as min_days_february
    from {{ source('standards', 'gb3095_validity') }}
),

valid_days_per_month as (
    -- unpivot drops NULLs: only valid daily values are counted
    select region_code, month_start, pollutant_code, count(*) as n_days
    from (
        unpivot (
            select region_code, date_trunc('month', observed_date)::date as month_start,
                   pm2_5, pm10, so2, no2, co, o3_8h
            from {{ ref('city_daily') }}
        )
        on pm2_5, pm10, so2, no2, co, o3_8h
        into name pollutant_code value value
    )
    group by all
),

complete_months as (
    select
        m.region_code,
        date_trunc('year', m.month_start)::date as period_start,
        {%- for code in ['pm2_5', 'pm10', 'so2', 'no2', 'co', 'o3_8h'] %}
        count(*) filter (where m.pollutant_code = '{{ code }}' and m.n_days >=
            case when month(m.month_start) = 2 then v.min_days_february else v.min_days_month end)
            as {{ code }}_months{{ ',' if not loop.last }}
        {%- endfor %}
    from valid_days_per_month as m
    cross join validity as v
    group by all
),

limits as (
    select
        l.*, s.pollutant_code as statistic_pollutant_code
    from {{ source('standards', 'gb3095_limits') }} as l
    join {{ source('standards', 'hj663_annual_statistics') }} as s
        on s.limit_pollutant_code = l.pollutant_code and s.limit_period = l.averaging_period
    where l.grade = 2
),

year_limits as (
    select
        y.region_code,
        y.period_start,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'pm2_5') as pm2_5_limit,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'pm10') as pm10_limit,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'so2') as so2_limit,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'no2') as no2_limit,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'co') as co_limit,
        max(l.limit_value) filter (where l.statistic_pollutant_code = 'o3_8h') as o3_8h_limit,
        any_value(l.standard_code) as limit_standard
    from years as y
    join limits as l
        on (y.period_start + interval 1 year - interval 1 day)::date
           between l.effective_from and coalesce(l.effective_to, date '9999-12-31')
    group by y.region_code, y.period_start
),

assessed as (
    select
        y.*,
        yl.*  exclude (region_code, period_start),
        {%- for code in ['pm2_5', 'pm10', 'so2', 'no2', 'co', 'o3_8h'] %}
        case when y.{{ code }}_days >= v.min_days and coalesce(cm.{{ code }}_months, 0) = 12
            then y.{{ code }}_statistic <= yl.{{ code }}_limit
        end as is_{{ code }}_compliant{{ ',' if not loop.last }}
        {%- endfor %}
    from years as y
    cross join validity as v
    left join year_limits as yl using (region_code, period_start)
    left join complete_months as cm using (region_code, period_start)
)

select
    region_code,
    year(period_start)::integer as year,
    valid_days,
    good_days,
    polluted_days,
    good_day_ratio::decimal(6, 4) as good_day_ratio,
    pm2_5_statistic::decimal(10, 1) as pm2_5,
    pm10_statistic::decimal(10, 1) as pm10,
    so2_statistic::decimal(10, 1) as so2,
    no2_statistic::decimal(10, 1) as no2,
    co_statistic::decimal(10, 2) as co_p95,
    o3_8h_statistic::decimal(10, 1) as o3_8h_p90,
    pm2_5_days,
    is_pm2_5_compliant,
    is_pm10_compliant,
    is_so2_compliant,
    is_no2_compliant,
    is_co_compliant,
    is_o3_8h_compliant,
    is_pm2_5_compliant and is_pm10_compliant and is_so2_compliant and is_no2_compliant
        and is_co_compliant and is_o3_8h_compliant as is_compliant_grade_ii,
    limit_standard
from assessed
