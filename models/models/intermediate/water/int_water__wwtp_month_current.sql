-- The current delivery of each sewage plant-month with its loads. Treated volume stands for the
-- inflow (plants report what they treated). Removed pollutant (t) = volume × (influent − effluent)
-- × the factors of standards.unit_conversions for 万吨 (→ t of water) and mg/L (→ t per t of water,
-- the wastewater convention 1 t = 1 m³): 10⁴ × 10⁻⁶, i.e. 0.01 t per 万吨 and mg/L. A load needs
-- both concentrations: a blank one (the plant did not run) leaves it NULL.
with

current as (
    {{ latest_delivery(ref('stg_housing__wwtp_monthly'), ['plant_code', 'month_start']) }}
),

factor as (
    select volume.factor * concentration.factor as t_per_10k_t_mg_l
    from {{ source('standards', 'unit_conversions') }} volume
    cross join {{ source('standards', 'unit_conversions') }} concentration
    where volume.unit = '万吨' and concentration.unit = 'mg/L'
)

select
    c.plant_code,
    c.month_start,
    c.plant_name,
    r.region_code,
    c.city_name,
    c.county_code,
    c.county_name,
    c.design_capacity_10k_t_per_day,
    c.treated_volume_10k_t,
    day(last_day(c.month_start)) as days_in_month,
    c.influent_cod_mg_l,
    c.effluent_cod_mg_l,
    c.influent_nh3_n_mg_l,
    c.effluent_nh3_n_mg_l,
    (c.treated_volume_10k_t * c.influent_cod_mg_l * f.t_per_10k_t_mg_l)::double as cod_influent_t,
    (c.treated_volume_10k_t * (c.influent_cod_mg_l - c.effluent_cod_mg_l) * f.t_per_10k_t_mg_l)::double
        as cod_removed_t,
    (c.treated_volume_10k_t * c.influent_nh3_n_mg_l * f.t_per_10k_t_mg_l)::double as nh3_n_influent_t,
    (c.treated_volume_10k_t * (c.influent_nh3_n_mg_l - c.effluent_nh3_n_mg_l) * f.t_per_10k_t_mg_l)::double
        as nh3_n_removed_t,
    c.delivery_id,
    c.source_file,
    c.source_line
from current c
cross join factor f
left join {{ source('standards', 'region') }} r on r.name_zh = c.city_name and r.level = 'city'
