-- The current delivery of each county-year's contaminated farmland (a later delivery supersedes),
-- placed in its city (GB/T 2260 code from the city's name, standards.region).
with

current as (
    {{ latest_delivery(ref('stg_soil__farmland_safe_use'), ['year', 'county_code']) }}
)

select
    c.year,
    c.county_code,
    c.county_name,
    r.region_code,
    c.city_name,
    c.contaminated_area_mu,
    c.safely_used_area_mu,
    c.strictly_controlled_area_mu,
    c.delivery_id,
    c.source_file,
    c.source_line
from current c
left join {{ source('standards', 'region') }} r on r.name_zh = c.city_name and r.level = 'city'
