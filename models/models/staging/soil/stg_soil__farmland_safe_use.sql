-- Contaminated farmland per county-year as delivered, areas in 亩 (mu) named so.
with

source as (
    select * from {{ source('soil', 'farmland_safe_use') }}
),

renamed as (
    select
        -- county and year
        year::integer as year,
        county_code,
        county_name,
        city_name,
        -- areas
        contaminated_area as contaminated_area_mu,
        safely_used_area as safely_used_area_mu,
        strictly_controlled_area as strictly_controlled_area_mu,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
