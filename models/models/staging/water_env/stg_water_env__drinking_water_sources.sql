-- Township drinking-water sources per year as delivered: the year read from the sheet title
-- (2023年), 是/否 read as booleans (the contract admits nothing else), lineage columns renamed.
with

source as (
    select * from {{ source('water_env', 'drinking_water_sources') }}
),

renamed as (
    select
        -- source and year
        regexp_extract(year, '^([0-9]{4})', 1)::integer as year,
        city_name,
        county_name,
        township_name,
        source_name,
        source_type,
        -- conditions of standardised construction, and the division's own verdict
        has_protection_zone = '是' as has_protection_zone,
        has_signs = '是' as has_signs,
        has_isolation = '是' as has_isolation,
        is_standardised_reported = '是' as is_standardised_reported,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
