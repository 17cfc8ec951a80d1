-- The protected areas (自然保护地) in force at the end of each year (the current delivery of each
-- area-year): type, category and level by the standards' codes, the county and city of the seat
-- (GB/T 2260 code from the city's name, standards.region), area and year established.
select
    p.year,
    p.protected_area_code,
    p.protected_area_name,
    p.type_code,
    p.type_name_zh,
    p.category_code,
    p.level_code,
    p.level_name_zh,
    p.county_code,
    p.county_name,
    r.region_code,
    p.city_name,
    p.area_ha,
    p.established_year,
    p.is_code_consistent,
    p.delivery_id,
    p.source_file,
    p.source_line
from {{ ref('int_ecology__protected_area_current') }} p
left join {{ source('standards', 'region') }} r on r.name_zh = p.city_name and r.level = 'city'
