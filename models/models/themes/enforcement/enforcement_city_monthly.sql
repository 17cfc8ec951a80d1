{{ config(alias='city_monthly') }}
-- Cases and fines per city and month, and the province (510000: all cases, including those the
-- provincial corps itself handles), for every city of standards.region and every month from the
-- first to the last case delivered (a month without cases has 0).
with

cases as (
    select *, date_trunc('month', case_date)::date as month_start from {{ ref('inspection_cases') }}
),

months as (
    select unnest(generate_series(min(month_start), max(month_start), interval 1 month))::date as month_start
    from cases
),

regions as (
    select region_code, level from {{ source('standards', 'region') }} where level in ('city', 'province')
),

province as (
    select region_code from regions where level = 'province'
),

by_region as (  -- each case under its city, and every case under the province
    select region_code, month_start, credit_code, penalty_10k_yuan, is_enterprise_registered
    from cases
    where region_code not in (select region_code from province)
    union all
    select p.region_code, c.month_start, c.credit_code, c.penalty_10k_yuan, c.is_enterprise_registered
    from cases as c
    cross join province as p
),

totals as (
    select
        region_code,
        month_start,
        count(*) as cases,
        count(*) filter (where penalty_10k_yuan > 0) as cases_fined,
        sum(penalty_10k_yuan) as penalties_10k_yuan,
        count(*) filter (where not is_enterprise_registered) as cases_unregistered_enterprise,
        count(distinct credit_code) as enterprises
    from by_region
    group by all
)

select
    r.region_code,
    m.month_start,
    coalesce(t.cases, 0) as cases,
    coalesce(t.cases_fined, 0) as cases_fined,
    coalesce(t.penalties_10k_yuan, 0)::decimal(18, 4) as penalties_10k_yuan,
    coalesce(t.cases_unregistered_enterprise, 0) as cases_unregistered_enterprise,
    coalesce(t.enterprises, 0) as enterprises
from regions as r
cross join months as m
left join totals as t on t.region_code = r.region_code and t.month_start = m.month_start
