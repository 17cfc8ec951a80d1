-- Air-quality stations: from the hourly files' own fields (latest name, city and coordinates seen),
-- enriched by the station registry when one has been delivered (the registry wins).
with

seen_in_files as (
    select
        station_code,
        arg_max(station_name, observed_at) as station_name,
        arg_max(city_name, observed_at) as city_name,
        arg_max(longitude, observed_at) as longitude,
        arg_max(latitude, observed_at) as latitude,
        arg_max(is_control_station, observed_at) as is_control_station,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at
    from {{ ref('int_air__station_hourly_current') }}
    group by station_code
),

registry as (
    {{ latest_delivery(ref('stg_env_monitoring__air_stations'), ['station_code']) }}
),

stations as (
    select
        coalesce(f.station_code, r.station_code) as station_code,
        coalesce(r.station_name, f.station_name) as station_name,
        coalesce(r.city_name, f.city_name) as city_name,
        coalesce(r.longitude, f.longitude) as longitude,
        coalesce(r.latitude, f.latitude) as latitude,
        coalesce(r.is_control_station, f.is_control_station, false) as is_control_station,
        r.station_code is not null as is_in_registry,
        f.first_observed_at,
        f.last_observed_at
    from seen_in_files as f
    full outer join registry as r using (station_code)
),

regions as (
    select * from {{ ref('dim_region') }}
)

select
    s.station_code,
    s.station_name,
    c.region_code,
    c.parent_region_code as province_code,
    s.city_name,
    s.longitude,
    s.latitude,
    s.is_control_station,
    s.is_in_registry,
    s.first_observed_at,
    s.last_observed_at
from stations as s
left join regions as c on c.region_name = s.city_name and c.region_level = 'city'
