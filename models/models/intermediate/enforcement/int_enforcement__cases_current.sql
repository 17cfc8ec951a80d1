-- The current delivery of each case (a later delivery of a case number supersedes an earlier one).
{{ latest_delivery(ref('stg_enforcement__cases'), ['case_number']) }}
