-- The current delivery of each city-year-fuel (a later delivery, e.g. a correction, supersedes).
{{ latest_delivery(ref('stg_development_reform__energy_consumption'), ['city_name', 'year', 'fuel_name']) }}
