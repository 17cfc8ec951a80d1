-- The current delivery of each red line (a later delivery of a code supersedes it), its function
-- type coded by standards.ecological_function_types, and its area measured on the WGS84 ellipsoid.
-- ST_Area_Spheroid reads coordinates as latitude, longitude (GeographicLib's order; with
-- longitude first it answers NaN for Sichuan), so the lon/lat polygons are flipped first.
with

current as (
    {{ latest_delivery(ref('stg_natural_resources__ecological_redlines'), ['redline_code']) }}
)

select
    c.redline_code,
    c.redline_name,
    t.function_code,
    c.function_type_zh,
    t.category_code as function_category,
    c.county_code,
    c.county_name,
    c.city_name,
    c.declared_area_km2,
    ST_Area_Spheroid(ST_FlipCoordinates(c.geom)) / 1e6 as area_km2,  -- m² to km² (SI prefix)
    c.geom,
    c.delivery_id,
    c.source_file,
    c.source_line,
    c.arrived_at
from current c
left join {{ source('standards', 'ecological_function_types') }} t on t.name_zh = c.function_type_zh
