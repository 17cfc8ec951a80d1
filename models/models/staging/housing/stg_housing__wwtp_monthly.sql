-- Sewage plants' monthly operation as delivered, the month read from the sheet title (2023年01月),
-- units kept as the contract states them (万吨/日, 万吨, mg/L) and named in the columns.
with

source as (
    select * from {{ source('housing', 'wwtp_monthly') }}
),

renamed as (
    select
        -- plant and month
        plant_code,
        strptime(period, '%Y年%m月')::date as month_start,
        plant_name,
        county_code,
        county_name,
        city_name,
        -- operation
        design_capacity as design_capacity_10k_t_per_day,
        treated_volume as treated_volume_10k_t,
        influent_cod as influent_cod_mg_l,
        effluent_cod as effluent_cod_mg_l,
        influent_nh3n as influent_nh3_n_mg_l,
        effluent_nh3n as effluent_nh3_n_mg_l,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
