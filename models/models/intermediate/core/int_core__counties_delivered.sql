-- Counties as the departments' county-level deliveries name them: one row per county code, the
-- name of its latest delivery (by arrival), under the city its code's first four digits give.
-- No verified GB/T 2260 county list is on hand (standards.region stops at the cities), so the
-- county level of dim_region is what the departments deliver; a code whose city is unknown is
-- left out here (the datasets' contracts already refuse such rows).
-- A county-level staging model joins the union below with its county_code and county_name.
with

delivered as (
    {% for model in [
        'stg_agriculture__rural_sewage_villages',
        'stg_agriculture__fertilizer_use',
        'stg_forestry__land_cover_county',
        'stg_forestry__protected_areas',
        'stg_housing__wwtp_monthly',
        'stg_natural_resources__ecological_redlines',
        'stg_soil__farmland_safe_use',
        'stg_soil__contaminated_plots',
    ] %}
    select county_code, county_name, arrived_at, '{{ model }}' as source_model from {{ ref(model) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

counties as (
    select
        county_code,
        arg_max(county_name, arrived_at) as county_name,
        left(county_code, 4) || '00' as city_code,
        list(distinct source_model order by source_model) as source_models
    from delivered
    where regexp_full_match(county_code, '[0-9]{6}') and right(county_code, 2) <> '00'
    group by county_code
)

select c.*
from counties c
join {{ source('standards', 'region') }} r on r.region_code = c.city_code and r.level = 'city'
