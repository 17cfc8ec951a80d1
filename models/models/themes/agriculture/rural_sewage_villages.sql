-- Administrative villages' domestic sewage treatment per year (the current delivery of each
-- village-year), placed in its city (GB/T 2260 code from the city's name, standards.region),
-- county and township.
select
    v.year,
    v.village_code,
    v.village_name,
    r.region_code,
    v.city_name,
    v.county_code,
    v.county_name,
    v.township_code,
    v.township_name,
    v.is_treated,
    v.treatment_mode,
    v.treatment_mode_zh,
    v.completed_year,
    v.is_reported_consistent,
    v.delivery_id,
    v.source_file,
    v.source_line
from {{ ref('int_agriculture__village_current') }} v
left join {{ source('standards', 'region') }} r on r.name_zh = v.city_name and r.level = 'city'
