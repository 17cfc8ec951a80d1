-- Red lines per county: how many, their declared and measured areas summed, and the area of their
-- union, where land covered by two red lines of the county (an overlap, a duplicated patch) counts
-- once; the difference is the area counted twice. No share of the county's land is given: no
-- county land area is delivered to divide by.
with

redlines as (
    select * from {{ ref('redlines') }}
),

per_county as (
    select
        county_code,
        arg_max(county_name, redline_code) as county_name,
        arg_max(region_code, redline_code) as region_code,
        arg_max(city_name, redline_code) as city_name,
        count(*) as redline_count,
        sum(declared_area_km2) as declared_area_km2,
        sum(area_km2) as area_km2,
        ST_Union_Agg(geom) as geom
    from redlines
    group by county_code
)

select
    county_code,
    county_name,
    region_code,
    city_name,
    redline_count::integer as redline_count,
    declared_area_km2,
    area_km2,
    ST_Area_Spheroid(ST_FlipCoordinates(geom)) / 1e6 as union_area_km2,  -- lat/lon order, m² to km²
    area_km2 - ST_Area_Spheroid(ST_FlipCoordinates(geom)) / 1e6 as overlap_area_km2,
    geom
from per_county
