-- Each assessment section's class per year, from the annual mean of each item (评价办法).
{{ water_section_period('year') }}
