-- Enforcement cases with the enforcing city (GB/T 2260) and whether the enterprise is in the
-- permit registry: a case on an enterprise the registry does not list is kept and flagged — the
-- case is real even when the registry lags or the enterprise operates without a permit. Served as
-- enforcement.inspection_cases: the name enforcement.cases would take the Dagster key
-- [enforcement, cases] of the delivered dataset's ingest asset.
select
    c.case_number,
    c.case_date,
    c.credit_code,
    c.enterprise_name,
    r.region_code,
    c.city_name,
    c.violation_type,
    c.penalty_10k_yuan::decimal(14, 4) as penalty_10k_yuan,
    coalesce(e.is_registered, false) as is_enterprise_registered,
    c.delivery_id,
    c.source_file,
    c.source_line
from {{ ref('int_enforcement__cases_current') }} as c
left join {{ source('standards', 'region') }} as r on r.name_zh = c.city_name
left join {{ ref('dim_enterprise') }} as e using (credit_code)
