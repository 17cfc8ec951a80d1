-- The current delivery of each section-month (a later delivery supersedes an earlier one).
{{ latest_delivery(ref('stg_env_monitoring__water_section_monthly'), ['section_code', 'month_start']) }}
