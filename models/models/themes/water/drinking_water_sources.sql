-- Township centralised drinking-water sources per year: the conditions of standardised construction,
-- standardised as derived from them (standards.drinking_water_source_criteria), the division's own
-- verdict and whether the two agree.
select
    s.year,
    s.city_name,
    s.county_name,
    s.township_name,
    s.source_name,
    r.region_code,
    s.source_type,
    s.has_protection_zone,
    s.has_signs,
    s.has_isolation,
    s.is_standardised,
    s.criteria_unmet,
    s.is_standardised_reported,
    s.is_reported_consistent,
    s.delivery_id,
    s.source_file,
    s.source_line
from {{ ref('int_water__drinking_water_source_current') }} s
left join {{ source('standards', 'region') }} r on r.name_zh = s.city_name and r.level = 'city'
