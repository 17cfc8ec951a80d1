-- Enterprises: those of the permit registry (name, industry and city from its latest extract) and
-- those known only from enforcement cases (is_registered = false: kept, the registry may lag),
-- with the parts of the unified social credit code (GB 32100: registration authority,
-- organisation type, registering division, GB 11714 organisation code) and both check characters
-- verified in SQL from the standards tables (macro check_character_validity).
with

registry as (
    select
        credit_code,
        arg_max(enterprise_name, arrived_at) as enterprise_name,
        arg_max(industry, arrived_at) as industry,
        arg_max(city_name, arrived_at) as city_name,
        true as is_registered
    from {{ ref('int_pollution_source__outlet_limits_current') }}
    group by credit_code
),

from_cases as (
    select
        credit_code,
        arg_max(enterprise_name, case_date) as enterprise_name,
        null::varchar as industry,
        arg_max(city_name, case_date) as city_name,
        false as is_registered
    from {{ ref('int_enforcement__cases_current') }}
    where credit_code not in (select credit_code from registry)
    group by credit_code
),

enterprises as (
    select * from registry
    union all by name
    select * from from_cases
),

outlets as (
    select credit_code, count(*) as outlets from {{ ref('dim_outlet') }} group by credit_code
)

select
    e.credit_code,
    e.enterprise_name,
    e.industry,
    r.region_code,
    e.city_name,
    substr(e.credit_code, 1, 1) as registration_authority_code,
    t.registration_authority_zh as registration_authority_name,
    substr(e.credit_code, 2, 1) as organisation_type_code,
    t.organisation_type_zh as organisation_type_name,
    substr(e.credit_code, 3, 6) as registration_division_code,
    substr(e.credit_code, 9, 9) as organisation_code,
    coalesce(usc.is_valid, false) as is_credit_code_valid,
    coalesce(org.is_valid, false) as is_organisation_code_valid,
    e.is_registered,
    coalesce(o.outlets, 0) as outlets
from enterprises as e
left join {{ source('standards', 'region') }} as r on r.name_zh = e.city_name
left join {{ source('standards', 'gb32100_organisation_types') }} as t
    on t.registration_authority_code = substr(e.credit_code, 1, 1)
    and t.organisation_type_code = substr(e.credit_code, 2, 1)
left join ({{ check_character_validity('gb32100', 'enterprises', 'credit_code') }}) as usc
    on usc.code = e.credit_code
left join ({{ check_character_validity('gb11714', 'enterprises', 'substr(credit_code, 9, 9)') }}) as org
    on org.code = substr(e.credit_code, 9, 9)
left join outlets as o on o.credit_code = e.credit_code
