-- One row per station and hour: the latest delivery of that station-hour (all stations of the file).
{{ latest_delivery(ref('stg_env_monitoring__air_station_hourly'), ['station_code', 'observed_at']) }}
