-- Each river control section's eco-flow days per month: calendar days, days with a measured flow,
-- days satisfied, and the satisfaction ratio over calendar days (a missing day is not satisfied).
select
    river,
    section_name,
    date_trunc('month', observed_date)::date as month_start,
    any_value(region_code) as region_code,
    count(*) as calendar_days,
    count(*) filter (where is_measured) as days_measured,
    count(*) filter (where is_satisfied) as days_satisfied,
    count(*) filter (where not is_measured) as days_missing,
    (count(*) filter (where is_satisfied) / count(*))::double as satisfaction_ratio,
    (count(*) filter (where is_satisfied) / nullif(count(*) filter (where is_measured), 0))::double
        as satisfaction_ratio_measured,
    avg(measured_flow_m3s)::decimal(18, 3) as mean_flow_m3s,
    min(measured_flow_m3s) as min_flow_m3s,
    min(target_flow_m3s) as min_target_flow_m3s,
    max(target_flow_m3s) as max_target_flow_m3s
from {{ ref('eco_flow_daily') }}
group by river, section_name, date_trunc('month', observed_date)
