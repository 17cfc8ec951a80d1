-- Gross regional product per division and year as delivered (亿元, current and constant prices with
-- the constant prices' base year), lineage columns renamed. Revisions are later deliveries of the
-- same division-year: int_climate__gdp_current keeps the latest.
with

source as (
    select * from {{ source('statistics', 'gdp') }}
)

select
    region_code,
    cast(year as integer) as year,
    region_name,
    gdp_current_price,
    gdp_constant_price,
    cast(price_base_year as integer) as price_base_year,
    {{ lineage_columns() }}
from source
