-- The protected areas in force at the end of each year as delivered; type and level kept as
-- delivered (their codes come from the standards in the intermediate model), lineage renamed.
with

source as (
    select * from {{ source('forestry', 'protected_areas') }}
),

renamed as (
    select
        -- protected area and year
        year::integer as year,
        protected_area_code,
        protected_area_name,
        type_name as type_name_zh,
        level_name as level_name_zh,
        established_year::integer as established_year,
        -- where its seat is
        county_code,
        county_name,
        city_name,
        -- area, hectares
        area_ha,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
