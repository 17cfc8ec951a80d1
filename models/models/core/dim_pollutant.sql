-- Pollutants and monitored items, one row per HJ 212-2017 code (the one national code that covers
-- air, water and noise), with the code each theme uses beside it: the air theme's pollutant codes
-- (standards.air_pollutants; ozone has two, 1-hour and 8-hour) and the GB 3838 item code of the
-- water theme (standards.gb3838_items). HJ 212's equipment and process parameters (codes e…, g…,
-- i…) and its templated codes (…xx) are not pollutants and are left out. Ozone's a05024 is vendor
-- usage, not in the standard's table (reference/STANDARDS.md): it has its row, flagged.
with

hj212 as (
    select code_2017, name_zh, code_2005, unit, amount_unit
    from {{ source('standards', 'hj212_pollutant_codes') }}
    where left(code_2017, 1) in ('a', 'w', 'L') and not contains(code_2017, 'x')
),

air as (
    select
        hj212_code,
        list(pollutant_code order by pollutant_code) as air_pollutant_codes,
        min(name_en) as name_en
    from {{ source('standards', 'air_pollutants') }}
    group by hj212_code
),

air_names as (
    select hj212_code, min(name_zh) as name_zh from {{ source('standards', 'air_pollutants') }} group by hj212_code
),

water as (
    select hj212_code, item_code, name_en, unit, in_section_class
    from {{ source('standards', 'gb3838_items') }}
),

codes as (
    select code_2017 as pollutant_code from hj212
    union
    select hj212_code from air
    union
    select hj212_code from water
)

select
    codes.pollutant_code,
    coalesce(h.name_zh, air_names.name_zh) as pollutant_name,
    coalesce(water.name_en, air.name_en) as pollutant_name_en,
    case left(codes.pollutant_code, 1) when 'a' then 'air' when 'w' then 'water' else 'noise' end as medium,
    h.code_2005 as hj212_2005_code,
    h.unit as hj212_unit,
    h.amount_unit as hj212_amount_unit,
    air.air_pollutant_codes,
    water.item_code as gb3838_item_code,
    water.unit as gb3838_unit,
    coalesce(water.in_section_class, false) as counts_in_section_class,
    h.code_2017 is not null as is_in_hj212_table
from codes
left join hj212 h on h.code_2017 = codes.pollutant_code
left join air on air.hj212_code = codes.pollutant_code
left join air_names on air_names.hj212_code = codes.pollutant_code
left join water on water.hj212_code = codes.pollutant_code
