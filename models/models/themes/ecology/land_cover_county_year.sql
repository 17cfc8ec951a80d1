-- Forest, grassland and wetland area per county and year (the current delivery of each county-year)
-- and their shares of the county's land area: forest coverage (森林覆盖率) = forest ÷ land area. The
-- county placed in its city (GB/T 2260 code from the city's name, standards.region).
select
    c.year,
    c.county_code,
    c.county_name,
    r.region_code,
    c.city_name,
    c.land_area_ha,
    c.forest_ha,
    c.grassland_ha,
    c.wetland_ha,
    c.forest_ha / c.land_area_ha as forest_coverage,
    c.grassland_ha / c.land_area_ha as grassland_share,
    c.wetland_ha / c.land_area_ha as wetland_share,
    c.delivery_id,
    c.source_file,
    c.source_line
from {{ ref('int_ecology__land_cover_county_current') }} c
left join {{ source('standards', 'region') }} r on r.name_zh = c.city_name and r.level = 'city'
