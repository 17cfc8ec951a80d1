-- CO2 per unit GDP (t per 万元 at constant prices) per city and for the province (510000) per year,
-- and its change against the plan's baseline year (standards.action_plan_baselines, 2021).
-- A city-year's CO2 counts only when every fuel of standards.energy_fuels was delivered and
-- converted; the province's CO2 is the sum of its cities' when every city has one. The province's
-- GDP is the bureau's own 510000 row, or the sum of the cities' when that row is missing and every
-- city was delivered with one price base year. The change is NULL (not a failure) when the baseline
-- year is missing or its constant prices have another base year.
with

cities as (
    select region_code from {{ source('standards', 'region') }} where level = 'city'
),

fuels_expected as (
    select count(*) as n from {{ source('standards', 'energy_fuels') }}
),

city_co2 as (
    select
        region_code,
        year,
        case when count(co2_t) = (select n from fuels_expected) then sum(co2_t) end as co2_t
    from {{ ref('int_climate__energy_co2') }}
    where region_code in (select region_code from cities)
    group by all
),

gdp as (
    select region_code, year, gdp_current_price, gdp_constant_price, price_base_year, 'delivered' as gdp_basis
    from {{ ref('int_climate__gdp_current') }}
),

city_rows as (
    select
        region_code,
        year,
        c.co2_t,
        g.gdp_current_price,
        g.gdp_constant_price,
        g.price_base_year,
        g.gdp_basis
    from city_co2 c
    full join (select * from gdp where region_code in (select region_code from cities)) g using (region_code, year)
),

province_sums as (
    select
        year,
        case when count(co2_t) = (select count(*) from cities) then sum(co2_t) end as co2_t,
        count(gdp_constant_price) = (select count(*) from cities) and count(distinct price_base_year) = 1
            as has_every_city_gdp,
        sum(gdp_current_price) as gdp_current_price,
        sum(gdp_constant_price) as gdp_constant_price,
        min(price_base_year) as price_base_year
    from city_rows
    group by year
),

province_rows as (
    select
        (select region_code from {{ source('standards', 'region') }} where level = 'province') as region_code,
        year,
        s.co2_t,
        case when g.region_code is not null then g.gdp_current_price when s.has_every_city_gdp then s.gdp_current_price end
            as gdp_current_price,
        case when g.region_code is not null then g.gdp_constant_price when s.has_every_city_gdp then s.gdp_constant_price end
            as gdp_constant_price,
        case when g.region_code is not null then g.price_base_year when s.has_every_city_gdp then s.price_base_year end
            as price_base_year,
        case when g.region_code is not null then 'delivered' when s.has_every_city_gdp then 'sum_of_cities' end as gdp_basis
    from province_sums s
    full join (
        select * from gdp
        where region_code in (select region_code from {{ source('standards', 'region') }} where level = 'province')
    ) g using (year)
),

money as (  -- 亿元 → 万元 by the unit table
    select
        max(factor) filter (where unit = '亿元') / max(factor) filter (where unit = '万元') as wan_yuan_per_yi_yuan
    from {{ source('standards', 'unit_conversions') }}
),

intensity as (
    select
        r.*,
        r.co2_t / nullif(r.gdp_constant_price * (select wan_yuan_per_yi_yuan from money), 0) as co2_intensity
    from (select * from city_rows union all by name select * from province_rows) r
),

baseline as (
    select baseline_year
    from {{ source('standards', 'action_plan_baselines') }}
    where indicator_code = 'co2_intensity_change_vs_2021'
)

select
    i.region_code,
    r.level as region_level,
    i.year,
    i.co2_t,
    i.gdp_current_price,
    i.gdp_constant_price,
    i.price_base_year,
    i.gdp_basis,
    i.co2_intensity,
    bl.baseline_year,
    b.co2_intensity as baseline_co2_intensity,
    case
        when b.price_base_year = i.price_base_year then i.co2_intensity / nullif(b.co2_intensity, 0) - 1
    end as co2_intensity_change
from intensity i
left join baseline bl on true
left join {{ source('standards', 'region') }} r on r.region_code = i.region_code
left join intensity b on b.region_code = i.region_code and b.year = bl.baseline_year
