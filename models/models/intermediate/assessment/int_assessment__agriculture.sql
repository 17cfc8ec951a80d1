-- Scoreboard values of administrative villages with domestic sewage treatment (行政村生活污水治理率)
-- per region (the village's city, and the province 510000 over every village) and year: the share
-- of villages the department reports treated (agriculture.rural_sewage_villages). Period type
-- 'year' only: the status is delivered once a year; the period ends at December.
with

city as (
    select year, region_code, count(*) filter (where is_treated) as treated, count(*) as villages
    from {{ ref('rural_sewage_villages') }}
    group by all
)

select 'rural_sewage_treatment' as indicator_code, 'year' as period_type,
       make_date(year, 1, 1) as period_start, make_date(year, 12, 1) as period_end, region_code,
       treated / villages as value
from city
union all
select 'rural_sewage_treatment', 'year', make_date(year, 1, 1), make_date(year, 12, 1), '510000',
       sum(treated) / sum(villages)
from city
group by all
