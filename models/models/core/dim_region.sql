-- Administrative divisions of Sichuan: the province and its 21 cities from GB/T 2260
-- (standards.region), and the counties the departments deliver (int_core__counties_delivered).
select
    region_code,
    name_zh as region_name,
    name_en as region_name_en,
    level as region_level,
    parent_code as parent_region_code,
    geo_zone,
    seat_lon,
    seat_lat,
    'standards.region (GB/T 2260)' as code_source
from {{ source('standards', 'region') }}

union all

select
    c.county_code as region_code,
    c.county_name as region_name,
    null as region_name_en,
    'county' as region_level,
    c.city_code as parent_region_code,
    city.geo_zone,
    null as seat_lon,
    null as seat_lat,
    'delivered: ' || array_to_string(c.source_models, ', ') as code_source
from {{ ref('int_core__counties_delivered') }} c
join {{ source('standards', 'region') }} city on city.region_code = c.city_code
