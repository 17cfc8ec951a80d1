-- CO2 from each city's energy consumption per year and fuel: the delivered value and unit, the
-- consumption in the fuel's canonical unit, the emission factor applied and the CO2 in tonnes.
select
    region_code,
    year,
    fuel_code,
    fuel_name,
    reported_consumption,
    reported_unit,
    consumption,
    canonical_unit,
    is_convertible,
    co2_t_per_unit,
    emission_factor_standard,
    co2_t,
    delivery_id,
    source_file,
    source_line
from {{ ref('int_climate__energy_co2') }}
