-- City-year-fuel energy consumption as delivered, in the unit of each row (万吨, 吨, 亿立方米 …), with
-- the year read from the sheet title (2023年) and the lineage columns renamed. Units are converted
-- to t, m³ and kWh by standards.unit_conversions in int_climate__energy_co2.
with

source as (
    select * from {{ source('development_reform', 'energy_consumption') }}
)

select
    cast(regexp_extract(period, '^([0-9]{4})年$', 1) as integer) as year,
    city_name,
    fuel_name,
    unit as reported_unit,
    consumption as reported_consumption,
    {{ lineage_columns() }}
from source
