-- Chemical fertilizer applied per city and for the province per year (agricultural non-point source
-- pressure): the sums of the counties delivered, the province the sum of its cities. How many
-- counties a figure covers is stated: no verified county list is on hand to tell a complete city.
with

province as (
    select region_code from {{ source('standards', 'region') }} where level = 'province'
),

cities as (
    select
        year,
        region_code,
        'city' as region_level,
        count(*) as counties_reported,
        sum(nitrogen_t) as nitrogen_t,
        sum(phosphate_t) as phosphate_t,
        sum(potash_t) as potash_t,
        sum(compound_t) as compound_t,
        sum(total_t) as total_t
    from {{ ref('fertilizer_county_year') }}
    where region_code is not null
    group by year, region_code
),

provinces as (
    select
        c.year,
        p.region_code,
        'province' as region_level,
        sum(c.counties_reported) as counties_reported,
        sum(c.nitrogen_t) as nitrogen_t,
        sum(c.phosphate_t) as phosphate_t,
        sum(c.potash_t) as potash_t,
        sum(c.compound_t) as compound_t,
        sum(c.total_t) as total_t
    from cities c
    cross join province p
    group by c.year, p.region_code
)

select
    year,
    region_code,
    region_level,
    counties_reported::integer as counties_reported,
    -- sums of values delivered to 0.01 t: rounded back to that precision
    round(nitrogen_t, 2) as nitrogen_t,
    round(phosphate_t, 2) as phosphate_t,
    round(potash_t, 2) as potash_t,
    round(compound_t, 2) as compound_t,
    round(total_t, 2) as total_t
from (select * from cities union all by name select * from provinces)
