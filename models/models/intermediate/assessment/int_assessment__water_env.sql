-- Scoreboard values of township drinking-water sources standardised (乡镇集中式饮用水水源地规范化
-- 建设) per region (the source's city, and the province 510000 over every source) and year: the
-- share of sources standardised as derived from the conditions (water.drinking_water_sources; a
-- delivered verdict that disagrees is flagged there, and does not count). Period type 'year' only:
-- the status is delivered once a year; the period ends at December.
with

sources as (
    select year, region_code, is_standardised from {{ ref('drinking_water_sources') }}
),

city as (
    select 'year' as period_type, make_date(year, 1, 1) as period_start, make_date(year, 12, 1) as period_end,
           region_code, count(*) filter (where is_standardised) as numerator, count(*) as denominator
    from sources
    group by all
)

{{ pooled_share('township_drinking_water_standardised', 'city') }}
