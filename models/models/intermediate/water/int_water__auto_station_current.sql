-- The current delivery of each automatic station's 4-hour value.
{{ latest_delivery(ref('stg_env_monitoring__water_auto_4h'), ['station_name', 'observed_at']) }}
