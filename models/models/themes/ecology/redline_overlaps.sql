-- Pairs of red lines whose polygons overlap (share area, not just a boundary), for the department
-- to fix: within one county, across neighbouring counties, or a patch delivered twice under two
-- codes (identical polygons). Each pair once, the smaller code first; the overlap measured on the
-- ellipsoid (ST_Area_Spheroid reads latitude first: the polygons are flipped).
with

redlines as (
    select * from {{ ref('redlines') }}
),

pairs as (
    select
        a.redline_code,
        b.redline_code as other_redline_code,
        a.region_code,
        b.region_code as other_region_code,
        a.county_code,
        b.county_code as other_county_code,
        a.area_km2,
        b.area_km2 as other_area_km2,
        ST_Equals(a.geom, b.geom) as is_duplicate,
        ST_Intersection(a.geom, b.geom) as geom
    from redlines a
    join redlines b
        on a.redline_code < b.redline_code
        and ST_Intersects(a.geom, b.geom)
),

measured as (
    select *, ST_Area_Spheroid(ST_FlipCoordinates(geom)) / 1e6 as overlap_area_km2  -- m² to km²
    from pairs
)

select
    redline_code,
    other_redline_code,
    region_code,
    other_region_code,
    county_code,
    other_county_code,
    county_code = other_county_code as is_same_county,
    is_duplicate,
    overlap_area_km2,
    overlap_area_km2 / area_km2 as overlap_share,
    overlap_area_km2 / other_area_km2 as other_overlap_share,
    geom
from measured
where overlap_area_km2 > 0  -- polygons that only touch share a line, of no area
