-- Ecological protection red lines as delivered: the WKT the contract checked (readable, a valid
-- Polygon or MultiPolygon inside Sichuan) cast to GEOMETRY by DuckDB's core cast, so that reading
-- this view needs no spatial extension; lineage columns renamed.
with

source as (
    select * from {{ source('natural_resources', 'ecological_redlines') }}
),

renamed as (
    select
        -- red line
        redline_code,
        redline_name,
        function_type as function_type_zh,
        -- where
        county_code,
        county_name,
        city_name,
        -- measures and shape
        declared_area_km2,
        "geometry"::geometry as geom,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
