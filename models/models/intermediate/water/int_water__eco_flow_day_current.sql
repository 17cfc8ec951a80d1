-- The current delivery of each section-day (a later delivery supersedes an earlier one), with its
-- flows converted to m³/s from the unit its sheet's header stated (m³/s, L/s …) by the factor of
-- standards.unit_conversions — never guessed from the size of the numbers. The contract admits only
-- flow units; a unit the standard lacks leaves the flow NULL and fails the relationships test on
-- water.eco_flow_daily.
with

current as (
    {{ latest_delivery(ref('stg_water_resources__eco_flow_daily'), ['river', 'section_name', 'observed_date']) }}
),

to_m3s as (
    select unit, factor
    from {{ source('standards', 'unit_conversions') }}
    where quantity = 'volume_flow' and canonical_unit = 'm³/s'
)

select
    c.river,
    c.section_name,
    c.observed_date,
    c.city_name,
    c.measured_flow as measured_flow_reported,
    c.measured_flow_unit,
    c.target_flow as target_flow_reported,
    c.target_flow_unit,
    (c.measured_flow::decimal(38, 6) * m.factor::decimal(38, 9))::decimal(18, 6) as measured_flow_m3s,
    (c.target_flow::decimal(38, 6) * t.factor::decimal(38, 9))::decimal(18, 6) as target_flow_m3s,
    c.delivery_id,
    c.source_file,
    c.source_line,
    c.arrived_at
from current c
left join to_m3s m on m.unit = c.measured_flow_unit
left join to_m3s t on t.unit = c.target_flow_unit
