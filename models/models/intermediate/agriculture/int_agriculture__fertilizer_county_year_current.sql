-- The current delivery of each county-year's fertilizer use: a revision delivered later (by arrival)
-- supersedes the earlier figures; rows of held, rejected or reprocessed batches are not served.
{{ latest_delivery(ref('stg_agriculture__fertilizer_use'), ['year', 'county_code']) }}
