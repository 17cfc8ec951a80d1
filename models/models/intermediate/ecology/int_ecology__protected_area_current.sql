-- The current delivery of each protected area in each year's list, with the codes of its type and
-- category (standards.protected_area_types) and level (standards.protected_area_levels), and whether
-- its code's letters are those of its type (the contract checks only that the code starts with the
-- county): a disagreement is flagged, not refused.
with

current as (
    {{ latest_delivery(ref('stg_forestry__protected_areas'), ['year', 'protected_area_code']) }}
)

select
    c.year,
    c.protected_area_code,
    c.protected_area_name,
    t.type_code,
    c.type_name_zh,
    t.category_code,
    t.category_rank,
    l.level_code,
    c.level_name_zh,
    c.county_code,
    c.county_name,
    c.city_name,
    c.area_ha,
    c.established_year,
    substr(c.protected_area_code, length(c.county_code) + 1, length(t.code_letters)) = t.code_letters
        as is_code_consistent,
    c.delivery_id,
    c.source_file,
    c.source_line,
    c.arrived_at
from current c
left join {{ source('standards', 'protected_area_types') }} t on t.name_zh = c.type_name_zh
left join {{ source('standards', 'protected_area_levels') }} l on l.name_zh = c.level_name_zh
