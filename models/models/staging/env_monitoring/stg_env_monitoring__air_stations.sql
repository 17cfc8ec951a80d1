with

source as (
    select * from {{ source('env_monitoring', 'air_stations') }}
),

renamed as (
    select
        station_code,
        station_name,
        city_name,
        longitude,
        latitude,
        is_control = '是' as is_control_station,
        {{ lineage_columns() }}
    from source
)

select * from renamed
