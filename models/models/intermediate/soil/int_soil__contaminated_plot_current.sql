-- The current delivery of each farmland plot, its class coded by standards.farmland_risk_classes and
-- its pollutants by standards.soil_pollutants (codes in the standard's order, each once).
with

current as (
    {{ latest_delivery(ref('stg_soil__contaminated_plots'), ['plot_code']) }}
),

named as (
    select distinct plot_code, unnest(pollutant_names_zh) as name_zh
    from current
),

pollutants as (
    select n.plot_code, list(p.pollutant_code order by p.pollutant_order) as pollutant_codes
    from named n
    join {{ source('standards', 'soil_pollutants') }} p on p.name_zh = n.name_zh
    group by n.plot_code
)

select
    c.plot_code,
    c.plot_name,
    r.region_code,
    c.city_name,
    c.county_code,
    c.county_name,
    c.area_mu,
    k.class_code as risk_class,
    c.risk_class_zh,
    k.is_contaminated,
    coalesce(p.pollutant_codes, []::varchar[]) as pollutant_codes,
    c.main_pollutants_zh,
    c.delivery_id,
    c.source_file,
    c.source_line
from current c
left join pollutants p on p.plot_code = c.plot_code
left join {{ source('standards', 'farmland_risk_classes') }} k on k.name_zh = c.risk_class_zh
left join {{ source('standards', 'region') }} r on r.name_zh = c.city_name and r.level = 'city'
