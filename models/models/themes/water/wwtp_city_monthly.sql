-- Sewage plants per city and for the province (510000) per month: capacity, volume, load rate of
-- the plants together (Σ daily mean inflow ÷ Σ capacity), COD and NH3-N removed, and the removal
-- efficiency by load (Σ removed ÷ Σ influent load, over the plants that reported both
-- concentrations: a plant-month without them adds volume but no load).
with

plants as (
    select * from {{ ref('int_water__wwtp_month_current') }}
),

by_region as (
    select
        coalesce(city_code, '510000') as region_code,
        month_start,
        count(*) as plants,
        sum(design_capacity_10k_t_per_day) as design_capacity_10k_t_per_day,
        sum(treated_volume_10k_t) as treated_volume_10k_t,
        sum(treated_volume_10k_t / days_in_month) as daily_mean_inflow_10k_t,
        count(cod_removed_t) as plants_with_cod,
        sum(cod_influent_t) filter (where cod_removed_t is not null) as cod_influent_t,
        sum(cod_removed_t) as cod_removed_t,
        count(nh3_n_removed_t) as plants_with_nh3_n,
        sum(nh3_n_influent_t) filter (where nh3_n_removed_t is not null) as nh3_n_influent_t,
        sum(nh3_n_removed_t) as nh3_n_removed_t
    from (select * exclude (region_code), region_code as city_code from plants where region_code is not null)
    group by grouping sets ((city_code, month_start), (month_start))
)

select
    region_code,
    month_start,
    plants,
    design_capacity_10k_t_per_day,
    treated_volume_10k_t,
    daily_mean_inflow_10k_t,
    daily_mean_inflow_10k_t / design_capacity_10k_t_per_day as load_rate,
    plants_with_cod,
    cod_removed_t,
    cod_removed_t / nullif(cod_influent_t, 0) as cod_removal_efficiency,
    plants_with_nh3_n,
    nh3_n_removed_t,
    nh3_n_removed_t / nullif(nh3_n_influent_t, 0) as nh3_n_removal_efficiency
from by_region
