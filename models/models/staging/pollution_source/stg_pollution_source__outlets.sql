-- Permit registry rows (one per outlet and monitored pollutant) as delivered, the permitted limit
-- read as numbers: "6-9" (pH) is a range, anything else an upper limit.
with

source as (
    select * from {{ source('pollution_source', 'outlets') }}
),

renamed as (
    select
        -- enterprise
        credit_code,
        enterprise_name,
        industry,
        city_name,
        -- outlet
        mn as outlet_mn,
        outlet_code,
        outlet_name,
        outlet_type_zh,
        -- monitored pollutant and its permitted limit
        pollutant_code,
        pollutant_name as pollutant_name_delivered,
        permitted_limit,
        case when regexp_matches(permitted_limit, '[0-9.]\s*[-~～]')
            then regexp_extract(permitted_limit, '^\s*([0-9.]+)', 1)::decimal(14, 4)
        end as limit_lower,
        regexp_extract(permitted_limit, '([0-9.]+)\s*$', 1)::decimal(14, 4) as limit_upper,
        limit_unit,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
