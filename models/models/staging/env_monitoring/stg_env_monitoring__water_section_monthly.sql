-- Section-month lab results as delivered, with the month read from the sheet title (2023年01月) and
-- the lineage columns renamed. Item values stay as the lab wrote them (0.01L, <0.01, ND, full-width
-- digits): int_water__section_item_values reads them.
with

source as (
    select * from {{ source('env_monitoring', 'water_section_monthly') }}
)

select
    strptime(period, '%Y年%m月')::date as month_start,
    columns('^[a-z][a-z0-9_]*$'),  -- the contract's fields: section, target class, the 24 items
    {{ lineage_columns() }}
from source
