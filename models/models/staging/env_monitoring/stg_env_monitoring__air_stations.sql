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
        _delivery_id as delivery_id,
        _source_file as source_file,
        _source_line as source_line,
        _arrived_at as arrived_at
    from source
)

select * from renamed
