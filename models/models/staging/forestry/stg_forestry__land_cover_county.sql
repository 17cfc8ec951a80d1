-- Forest, grassland and wetland area per county and year as delivered (公顷), with the county's land
-- area; lineage columns renamed. The contract has already refused rows whose areas exceed the land.
with

source as (
    select * from {{ source('forestry', 'land_cover_county') }}
),

renamed as (
    select
        -- county and year
        year::integer as year,
        county_code,
        county_name,
        city_name,
        -- areas, hectares
        land_area_ha,
        forest_ha,
        grassland_ha,
        wetland_ha,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
