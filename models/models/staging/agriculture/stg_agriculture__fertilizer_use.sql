-- Chemical fertilizer applied per county and year as delivered (tonnes of pure nutrient), lineage
-- columns renamed. The contract has already refused totals that are not the sum of their parts.
with

source as (
    select * from {{ source('agriculture', 'fertilizer_use') }}
),

renamed as (
    select
        -- county and year
        year::integer as year,
        county_code,
        county_name,
        city_name,
        -- tonnes of pure nutrient (折纯量)
        nitrogen_t,
        phosphate_t,
        potash_t,
        compound_t,
        total_t,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
