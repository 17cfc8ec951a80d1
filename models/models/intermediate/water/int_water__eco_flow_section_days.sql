-- Every calendar day of each control section from the first to the last month it was delivered,
-- with the day's flows where delivered. A day without a measured flow — no row delivered, a blank
-- flow, a row refused by the contract, or a month the section is absent from — is not satisfied:
-- the eco-flow satisfaction counts calendar days, so a gap can never raise it.
with

delivered as (
    select * from {{ ref('int_water__eco_flow_day_current') }}
),

spans as (
    select
        river,
        section_name,
        date_trunc('month', min(observed_date))::date as first_month,
        date_trunc('month', max(observed_date))::date as last_month
    from delivered
    group by all
),

calendar as (
    select
        river,
        section_name,
        unnest(generate_series(first_month, last_day(last_month), interval 1 day))::date as observed_date
    from spans
)

select
    c.river,
    c.section_name,
    c.observed_date,
    d.measured_flow_m3s,
    d.target_flow_m3s,
    d.measured_flow_reported,
    d.measured_flow_unit,
    d.target_flow_reported,
    d.target_flow_unit,
    d.observed_date is not null as is_delivered,
    d.measured_flow_m3s is not null as is_measured,
    coalesce(d.measured_flow_m3s >= d.target_flow_m3s, false) as is_satisfied,
    d.delivery_id,
    d.source_file,
    d.source_line
from calendar c
left join delivered d using (river, section_name, observed_date)
