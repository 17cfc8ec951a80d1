-- Contaminated farmland and its safe use per city and for the province (510000) per year: the
-- counties' areas summed, and the safe-use rate of the sums (not a mean of county rates).
with

by_region as (
    select
        coalesce(city_code, '510000') as region_code,
        year,
        count(*) as counties,
        sum(contaminated_area_mu) as contaminated_area_mu,
        sum(safely_used_area_mu) as safely_used_area_mu,
        sum(strictly_controlled_area_mu) as strictly_controlled_area_mu
    from (
        select * exclude (region_code), region_code as city_code
        from {{ ref('int_soil__farmland_safe_use_current') }}
        where region_code is not null
    )
    group by grouping sets ((city_code, year), (year))
)

select
    region_code,
    year,
    counties,
    contaminated_area_mu,
    safely_used_area_mu,
    strictly_controlled_area_mu,
    (safely_used_area_mu + strictly_controlled_area_mu) / nullif(contaminated_area_mu, 0) as safe_use_rate
from by_region
