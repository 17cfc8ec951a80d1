-- Each outlet's daily data (HJ 212) per pollutant: the latest receipt of each DataTime.
{{ hj212_outlet_values('day') }}
