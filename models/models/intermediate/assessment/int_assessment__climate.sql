-- Scoreboard values of the climate indicator per region (21 cities and the province 510000) and
-- year: CO2 per unit GDP (constant prices) against the baseline year (climate.co2_intensity). The
-- data are annual, so only period_type 'year' exists: 1 January to the year's last month,
-- December. NULL (not a failure) when the baseline year or the year's CO2 or GDP is missing.
select
    'co2_intensity_change_vs_2021' as indicator_code,
    'year' as period_type,
    make_date(year, 1, 1) as period_start,
    make_date(year, 12, 1) as period_end,
    region_code,
    co2_intensity_change as value
from {{ ref('co2_intensity') }}
where year > baseline_year
