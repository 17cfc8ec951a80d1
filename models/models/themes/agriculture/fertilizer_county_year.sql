-- Chemical fertilizer applied per county and year (the current delivery of each county-year), in
-- tonnes of pure nutrient, placed in its city (GB/T 2260 code from the city's name, standards.region).
select
    f.year,
    f.county_code,
    f.county_name,
    r.region_code,
    f.city_name,
    f.nitrogen_t,
    f.phosphate_t,
    f.potash_t,
    f.compound_t,
    f.total_t,
    f.delivery_id,
    f.source_file,
    f.source_line
from {{ ref('int_agriculture__fertilizer_county_year_current') }} f
left join {{ source('standards', 'region') }} r on r.name_zh = f.city_name and r.level = 'city'
