-- Scoreboard values of administrative villages with domestic sewage treatment (行政村生活污水治理率)
-- per region (the village's city, and the province 510000 over every village) and year: the share
-- of villages the department reports treated (agriculture.rural_sewage_villages). Period type
-- 'year' only: the status is delivered once a year; the period ends at December.
with

city as (
    select 'year' as period_type, make_date(year, 1, 1) as period_start, make_date(year, 12, 1) as period_end,
           region_code, count(*) filter (where is_treated) as numerator, count(*) as denominator
    from {{ ref('rural_sewage_villages') }}
    group by all
)

{{ pooled_share('rural_sewage_treatment', 'city') }}
