-- The current delivery of each administrative village and year: the township's code cut out of the
-- village code by standards.village_code_structure (the digits up to the township segment's end),
-- the mode's code from standards.rural_sewage_treatment_modes, and whether the row agrees with
-- itself: treated exactly when the mode treats, and a completion year given exactly when treated,
-- not after the status year. A disagreement is flagged, not refused: the department's 是/否 counts.
with

current as (
    {{ latest_delivery(ref('stg_agriculture__rural_sewage_villages'), ['year', 'village_code']) }}
),

township_segment as (
    select position_start + length - 1 as last_digit
    from {{ source('standards', 'village_code_structure') }}
    where segment_code = 'township'
)

select
    c.year,
    c.village_code,
    c.village_name,
    left(c.village_code, t.last_digit) as township_code,
    c.township_name,
    c.county_code,
    c.county_name,
    c.city_name,
    c.is_treated,
    m.mode_code as treatment_mode,
    c.treatment_mode_zh,
    c.completed_year,
    c.is_treated = m.is_treatment
        and (c.completed_year is not null) = c.is_treated
        and coalesce(c.completed_year <= c.year, true) as is_reported_consistent,
    c.delivery_id,
    c.source_file,
    c.source_line,
    c.arrived_at
from current c
cross join township_segment t
left join {{ source('standards', 'rural_sewage_treatment_modes') }} m on m.name_zh = c.treatment_mode_zh
