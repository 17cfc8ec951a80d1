-- The current delivery of each county-year's forest, grassland and wetland area: a correction
-- delivered later (by arrival) supersedes the earlier row.
{{ latest_delivery(ref('stg_forestry__land_cover_county'), ['year', 'county_code']) }}
