-- Ecological protection red lines, one row per red line (its current delivery): function type,
-- county and city (GB/T 2260 code from the city's name, standards.region), the area the department
-- declares beside the area of the polygon on the ellipsoid, and the polygon itself.
select
    r.redline_code,
    r.redline_name,
    r.function_code,
    r.function_type_zh,
    r.function_category,
    reg.region_code,
    r.city_name,
    r.county_code,
    r.county_name,
    r.declared_area_km2,
    r.area_km2,
    r.geom,
    r.delivery_id,
    r.source_file,
    r.source_line
from {{ ref('int_ecology__redline_current') }} r
left join {{ source('standards', 'region') }} reg on reg.name_zh = r.city_name and reg.level = 'city'
