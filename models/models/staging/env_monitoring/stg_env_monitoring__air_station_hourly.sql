with

source as (
    select * from {{ source('env_monitoring', 'air_station_hourly') }}
),

renamed as (
    select
        -- keys
        stationcode as station_code,
        timepoint as observed_at,

        -- station as named in the file
        area as city_name,
        regexp_replace(positionname, '\(对照点\)$', '') as station_name,
        positionname like '%(对照点)' as is_control_station,
        longitude,
        latitude,

        -- latest 1-hour means
        pm2_5 as pm2_5_1h,
        pm10 as pm10_1h,
        so2 as so2_1h,
        no2 as no2_1h,
        co as co_1h,
        -- CNEMC's O3 columns are swapped against their names: o3_24h holds the current 1-hour O3,
        -- o3_8h_24h the current 8-hour moving mean, o3 the 24-hour maximum of 1-hour values
        o3_24h as o3_1h,
        o3_8h_24h as o3_8h,
        o3 as o3_1h_max_24h,
        o3_8h as o3_8h_max_day,

        -- means of the last 24 hourly values
        pm2_5_24h,
        pm10_24h,
        so2_24h,
        no2_24h,
        co_24h,

        -- as published
        aqi as published_aqi,
        primarypollutant as published_primary_pollutants,

        -- lineage
        {{ lineage_columns() }}
    from source
)

select * from renamed
