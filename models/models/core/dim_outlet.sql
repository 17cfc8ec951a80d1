-- Permitted outlets as the latest registry extract lists them: the permit's outlet number and
-- name, gas or water (standards.outlet_types), the MN of the online-monitoring device, the
-- enterprise (unified social credit code) and its city (GB/T 2260), and the monitored pollutants.
with

current as (
    select * from {{ ref('int_pollution_source__outlet_limits_current') }}
),

latest as (  -- the outlet's own fields from its most recently delivered row
    select *
    from current
    qualify row_number() over (
        partition by outlet_mn order by arrived_at desc, delivery_id desc, source_line
    ) = 1
),

pollutants as (
    select outlet_mn, list(pollutant_code order by pollutant_code) as pollutant_codes
    from current
    group by outlet_mn
)

select
    l.outlet_mn,
    l.outlet_code,
    l.outlet_name,
    t.outlet_type,
    t.hj212_system_code,
    l.credit_code,
    l.enterprise_name,
    l.industry,
    r.region_code,
    l.city_name,
    p.pollutant_codes
from latest as l
join pollutants as p using (outlet_mn)
left join {{ source('standards', 'outlet_types') }} as t on t.name_zh = l.outlet_type_zh
left join {{ source('standards', 'region') }} as r on r.name_zh = l.city_name
