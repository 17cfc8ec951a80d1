-- One row per station and hour: the latest delivery of that station-hour (all stations of the file).
--
-- Incremental (see macros/incremental_rows.sql): a build computes again only the station-hours of
-- the deliveries published or re-run since the last build, and deletes the rows of deliveries no
-- longer published. The table thus equals a full rebuild.
{{ config(
    materialized='incremental',
    unique_key=['station_code', 'observed_at'],
    post_hook=["{% if is_incremental() %}{{ delete_unpublished() }}{% endif %}"],
) }}
{{ latest_delivery(
    ref('stg_env_monitoring__air_station_hourly'), ['station_code', 'observed_at'],
    dataset='env_monitoring/air_station_hourly',
) }}
