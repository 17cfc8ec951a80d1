-- Farmland plots as delivered: the class and the pollutants by their delivered Chinese names, the
-- pollutant list split at 、 (the contract's itemSeparator) into a list of names.
with

source as (
    select * from {{ source('soil', 'contaminated_plots') }}
),

renamed as (
    select
        -- plot
        plot_code,
        plot_name,
        county_code,
        county_name,
        city_name,
        area as area_mu,
        -- contamination
        risk_class as risk_class_zh,
        main_pollutants as main_pollutants_zh,
        case
            when nullif(trim(main_pollutants), '') is null then []::varchar[]
            else list_transform(string_split(main_pollutants, '、'), p -> trim(p))
        end as pollutant_names_zh,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
