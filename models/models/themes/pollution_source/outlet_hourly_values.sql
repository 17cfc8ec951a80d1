-- Each outlet's hourly data (HJ 212) per pollutant: the latest receipt of each DataTime.
{{ hj212_outlet_values('hour') }}
