-- The current delivery of each township drinking-water source and year, with "standardised"
-- derived: every condition that standards.drinking_water_source_criteria requires is met (a
-- required condition the delivery does not carry counts as unmet). The division's own verdict is
-- kept beside it; a disagreement is flagged (is_reported_consistent), not refused: the source stays
-- in the indicator's denominator, counted by the derived value.
with

current as (
    {{ latest_delivery(
        ref('stg_water_env__drinking_water_sources'),
        ['year', 'city_name', 'county_name', 'township_name', 'source_name']
    ) }}
),

conditions as (  -- one row per source-year and delivered condition (the has_… columns)
    unpivot (
        select year, city_name, county_name, township_name, source_name, columns('^has_')
        from current
    )
    on columns('^has_')
    into name criterion_code value is_met
),

checks as (
    select
        s.year, s.city_name, s.county_name, s.township_name, s.source_name,
        k.criterion_code,
        k.criterion_order,
        coalesce(c.is_met, false) as is_met
    from current s
    cross join {{ source('standards', 'drinking_water_source_criteria') }} k
    left join conditions c
        using (year, city_name, county_name, township_name, source_name, criterion_code)
    where k.required_for_standardised
),

judged as (
    select
        year, city_name, county_name, township_name, source_name,
        bool_and(is_met) as is_standardised,
        coalesce(list(criterion_code order by criterion_order) filter (where not is_met), []::varchar[])
            as criteria_unmet
    from checks
    group by all
)

select
    s.year,
    s.city_name,
    s.county_name,
    s.township_name,
    s.source_name,
    s.source_type,
    s.has_protection_zone,
    s.has_signs,
    s.has_isolation,
    coalesce(j.is_standardised, true) as is_standardised,  -- no condition required: vacuously met
    coalesce(j.criteria_unmet, []::varchar[]) as criteria_unmet,
    s.is_standardised_reported,
    coalesce(j.is_standardised, true) = s.is_standardised_reported as is_reported_consistent,
    s.delivery_id,
    s.source_file,
    s.source_line,
    s.arrived_at
from current s
left join judged j using (year, city_name, county_name, township_name, source_name)
