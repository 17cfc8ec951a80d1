-- Contaminated farmland and its safe use per county and year (the current delivery). The safe-use
-- rate (受污染耕地安全利用率) = (safely used + strictly controlled) ÷ contaminated farmland; NULL
-- for a county without contaminated farmland.
select
    year,
    county_code,
    county_name,
    region_code,
    city_name,
    contaminated_area_mu,
    safely_used_area_mu,
    strictly_controlled_area_mu,
    (safely_used_area_mu + strictly_controlled_area_mu) / nullif(contaminated_area_mu, 0) as safe_use_rate,
    delivery_id,
    source_file,
    source_line
from {{ ref('int_soil__farmland_safe_use_current') }}
