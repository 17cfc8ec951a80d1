-- The current figures of each division-year: a revision (a later delivery) supersedes earlier ones.
{{ latest_delivery(ref('stg_statistics__gdp'), ['region_code', 'year']) }}
