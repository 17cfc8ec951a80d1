-- Administrative villages' sewage treatment per year as delivered: 是/否 read as a boolean (the
-- contract admits nothing else), the mode kept as delivered, lineage columns renamed.
with

source as (
    select * from {{ source('agriculture', 'rural_sewage_villages') }}
),

renamed as (
    select
        -- village and year
        year::integer as year,
        village_code,
        village_name,
        township_name,
        county_code,
        county_name,
        city_name,
        -- treatment
        is_treated = '是' as is_treated,
        treatment_mode as treatment_mode_zh,
        completed_year::integer as completed_year,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
