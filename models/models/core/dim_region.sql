-- GB/T 2260 administrative divisions (province and cities of Sichuan) from the standards tables.
select
    region_code,
    name_zh as region_name,
    name_en as region_name_en,
    level as region_level,
    parent_code as parent_region_code,
    geo_zone,
    seat_lon,
    seat_lat
from {{ source('standards', 'region') }}
