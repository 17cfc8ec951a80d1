-- Each outlet's permitted concentration limit per monitored pollutant (HJ 212-2017 code), as the
-- current registry extract states it: an upper limit, and a lower one for pH (6-9).
select
    c.outlet_mn,
    c.pollutant_code,
    h.name_zh as pollutant_name,
    c.limit_lower,
    c.limit_upper,
    c.limit_unit,
    c.permitted_limit as permitted_limit_delivered,
    o.outlet_type,
    o.credit_code,
    o.region_code,
    c.delivery_id,
    c.source_file,
    c.source_line
from {{ ref('int_pollution_source__outlet_limits_current') }} as c
join {{ ref('dim_outlet') }} as o using (outlet_mn)
left join {{ source('standards', 'hj212_pollutant_codes') }} as h on h.code_2017 = c.pollutant_code
