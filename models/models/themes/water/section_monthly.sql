-- Each assessment section's class per month (GB 3838-2002, 评价办法), against its target.
{{ water_section_period('month') }}
