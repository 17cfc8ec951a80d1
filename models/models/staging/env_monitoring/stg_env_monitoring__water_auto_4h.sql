-- Automatic-station 4-hour values as delivered ("--" and "*" already NULL: the contract's null values).
with

source as (
    select * from {{ source('env_monitoring', 'water_auto_4h') }}
)

select
    station_name,
    observed_at,
    province,
    basin,
    published_class,
    water_temperature,
    ph,
    dissolved_oxygen,
    conductivity,
    turbidity,
    codmn,
    nh3_n,
    tp,
    tn,
    chlorophyll_a,
    algal_density,
    station_status,
    {{ lineage_columns() }}
from source
