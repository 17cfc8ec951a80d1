-- Section-day flows as delivered, with the lineage columns renamed. Flows stay in the unit their
-- sheet's header states (measured_flow_unit, target_flow_unit: m³/s, L/s …);
-- int_water__eco_flow_day_current converts them by standards.unit_conversions.
with

source as (
    select * from {{ source('water_resources', 'eco_flow_daily') }}
),

renamed as (
    select
        -- section and day
        river,
        section_name,
        city_name,
        observed_date,
        -- flows, each in the unit of its header
        measured_flow,
        measured_flow_unit,
        target_flow,
        target_flow_unit,
        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
