-- Protected areas per county and year: how many are in force at the end of the year and the sum of
-- their listed areas, in all and per category of standards.protected_area_types. A county of the
-- land-cover delivery with no protected area in a year whose list was delivered counts 0; years
-- without a list are absent (unknown, not 0). Areas are summed as listed: overlaps between areas
-- are not removed and an area spanning counties counts wholly in the county of its seat.
with

areas as (
    select * from {{ ref('protected_areas') }}
),

listed_years as (
    select distinct year from areas
),

counties as (
    select year, county_code, county_name, region_code, 1 as preference
    from {{ ref('land_cover_county_year') }}
    where year in (select year from listed_years)
    union all
    select year, county_code, county_name, region_code, 2 as preference from areas
),

spine as (
    -- one name per county-year: the land-cover delivery's when there is one
    select
        year,
        county_code,
        arg_min(county_name, preference) as county_name,
        arg_min(region_code, preference) as region_code
    from counties
    group by year, county_code
),

sums as (
    select
        year,
        county_code,
        count(*) as protected_area_count,
        sum(area_ha) as protected_area_ha,
        count(*) filter (where category_code = 'national_park') as national_park_count,
        count(*) filter (where category_code = 'nature_reserve') as nature_reserve_count,
        count(*) filter (where category_code = 'natural_park') as natural_park_count,
        count(*) filter (where level_code = 'national') as national_level_count,
        sum(area_ha) filter (where category_code = 'national_park') as national_park_ha,
        sum(area_ha) filter (where category_code = 'nature_reserve') as nature_reserve_ha,
        sum(area_ha) filter (where category_code = 'natural_park') as natural_park_ha
    from areas
    group by year, county_code
)

select
    s.year,
    s.county_code,
    s.county_name,
    s.region_code,
    coalesce(a.protected_area_count, 0)::integer as protected_area_count,
    round(coalesce(a.protected_area_ha, 0), 2) as protected_area_ha,
    coalesce(a.national_park_count, 0)::integer as national_park_count,
    coalesce(a.nature_reserve_count, 0)::integer as nature_reserve_count,
    coalesce(a.natural_park_count, 0)::integer as natural_park_count,
    coalesce(a.national_level_count, 0)::integer as national_level_count,
    round(coalesce(a.national_park_ha, 0), 2) as national_park_ha,
    round(coalesce(a.nature_reserve_ha, 0), 2) as nature_reserve_ha,
    round(coalesce(a.natural_park_ha, 0), 2) as natural_park_ha
from spine s
left join sums a using (year, county_code)
