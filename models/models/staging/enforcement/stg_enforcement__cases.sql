-- Enforcement cases as delivered; a blank fine is no fine.
with

source as (
    select * from {{ source('enforcement', 'cases') }}
),

renamed as (
    select
        -- case
        case_number,
        case_date,
        violation_type,
        penalty as penalty_10k_yuan,
        -- enterprise
        credit_code,
        enterprise_name,
        city_name,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
