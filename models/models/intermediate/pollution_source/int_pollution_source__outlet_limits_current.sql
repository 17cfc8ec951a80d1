-- The current permit row of each outlet and pollutant (a later registry extract supersedes an
-- earlier one; rows of a quarantined credit code never reach raw, so the earlier extract stays
-- current for them).
{{ latest_delivery(ref('stg_pollution_source__outlets'), ['outlet_mn', 'pollutant_code']) }}
