-- Each city-year-fuel's consumption in the fuel's canonical unit (t, m³, kWh: standards.energy_fuels)
-- converted by the delivered unit's factor (standards.unit_conversions), and its CO2 by the emission
-- factor in force on 1 January of the year (standards.co2_emission_factors). A unit of another
-- quantity than the fuel's (electricity in 万吨) cannot be converted: consumption and CO2 stay NULL
-- and is_convertible is false, so the city-year's total is not silently short.
with

consumption as (
    select * from {{ ref('int_climate__energy_consumption_current') }}
),

factors as (
    select * from {{ source('standards', 'co2_emission_factors') }}
),

converted as (
    select
        r.region_code,
        c.year,
        f.fuel_code,
        c.fuel_name,
        f.fuel_order,
        c.reported_consumption,
        c.reported_unit,
        f.canonical_unit,
        coalesce(u.canonical_unit = f.canonical_unit, false) as is_convertible,
        case when u.canonical_unit = f.canonical_unit then c.reported_consumption * u.factor end as consumption,
        c.delivery_id,
        c.source_file,
        c.source_line
    from consumption c
    left join {{ source('standards', 'region') }} r on r.name_zh = c.city_name
    left join {{ source('standards', 'energy_fuels') }} f on f.name_zh = c.fuel_name
    left join {{ source('standards', 'unit_conversions') }} u on u.unit = c.reported_unit
)

select
    c.*,
    e.standard_code as emission_factor_standard,
    e.co2_t_per_unit,
    c.consumption * e.co2_t_per_unit as co2_t
from converted c
left join factors e
    on e.fuel_code = c.fuel_code
    and e.canonical_unit = c.canonical_unit
    and make_date(c.year, 1, 1) >= coalesce(e.effective_from, date '-infinity')
    and make_date(c.year, 1, 1) <= coalesce(e.effective_to, date 'infinity')
qualify row_number() over (
    partition by c.region_code, c.year, c.fuel_code order by e.effective_from desc nulls last
) = 1
