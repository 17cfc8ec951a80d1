-- Each urban sewage plant's month (the current delivery): volumes, load rate = daily mean inflow
-- (treated volume ÷ days of the month) ÷ design capacity, COD and NH3-N removed in tonnes and the
-- removal efficiencies (1 − effluent ÷ influent; NULL without an influent concentration above 0).
select
    plant_code,
    month_start,
    plant_name,
    region_code,
    city_name,
    county_code,
    county_name,
    design_capacity_10k_t_per_day,
    treated_volume_10k_t,
    days_in_month::integer as days_in_month,
    treated_volume_10k_t / days_in_month as daily_mean_inflow_10k_t,
    treated_volume_10k_t / days_in_month / design_capacity_10k_t_per_day as load_rate,
    influent_cod_mg_l,
    effluent_cod_mg_l,
    influent_nh3_n_mg_l,
    effluent_nh3_n_mg_l,
    cod_removed_t,
    nh3_n_removed_t,
    1 - effluent_cod_mg_l / nullif(influent_cod_mg_l, 0) as cod_removal_efficiency,
    1 - effluent_nh3_n_mg_l / nullif(influent_nh3_n_mg_l, 0) as nh3_n_removal_efficiency,
    delivery_id,
    source_file,
    source_line
from {{ ref('int_water__wwtp_month_current') }}
