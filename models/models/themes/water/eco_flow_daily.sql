-- Each river control section's flow and ecological-flow target per calendar day, in m³/s (converted
-- from the unit its header stated), and whether the day was satisfied (measured flow ≥ target).
-- Days without a measured flow are here too, not satisfied.
select
    d.river,
    d.section_name,
    d.observed_date,
    s.region_code,
    d.measured_flow_m3s,
    d.target_flow_m3s,
    d.is_delivered,
    d.is_measured,
    d.is_satisfied,
    d.measured_flow_reported,
    d.measured_flow_unit,
    d.target_flow_reported,
    d.target_flow_unit,
    d.delivery_id,
    d.source_file,
    d.source_line
from {{ ref('int_water__eco_flow_section_days') }} d
join {{ ref('dim_flow_section') }} s using (river, section_name)
