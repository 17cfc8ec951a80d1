-- Transmission effective rate per outlet and day of minute data: minute records received whose
-- every pollutant carries a valid flag (N), ÷ the records expected (1,440), both from
-- standards.hj212_transmission. The days rated are those that ended while the platform was
-- receiving (between the first and the last receipt): a day still running is not rated yet, and
-- a skewed logger's DataTime outside that window adds no day. On each, every registered outlet
-- has a row (one that sent nothing has rate 0), and so has an MN the registry lacks that sent data.
with

rule as (
    select cn, expected_per_day, string_split(valid_flags, '|') as valid_flags
    from {{ source('standards', 'hj212_transmission') }}
    where interval_name = 'minute'
),

minutes as (  -- one row per outlet and minute received
    select
        m.outlet_mn,
        m.data_time,
        bool_and(list_contains(rule.valid_flags, m.flag)) as is_valid
    from {{ ref('outlet_minute_values') }} as m, rule
    group by all
),

window_ as (  -- the receiving window
    select min(received_at) as first_receipt, max(received_at) as last_receipt
    from {{ ref('int_pollution_source__hj212_records_current') }}
),

received as (
    select
        outlet_mn,
        data_time::date as rate_date,
        count(*) as received_records,
        count(*) filter (where is_valid) as valid_records
    from minutes
    group by all
),

days as (
    select distinct r.rate_date
    from received as r, window_ as w
    where r.rate_date + interval 1 day > w.first_receipt and r.rate_date + interval 1 day <= w.last_receipt
),

outlet_days as (
    select o.outlet_mn, d.rate_date
    from {{ ref('dim_outlet') }} as o
    cross join days as d
    union
    select r.outlet_mn, r.rate_date from received as r join days using (rate_date)
)

select
    k.outlet_mn,
    k.rate_date,
    rule.expected_per_day as expected_records,
    coalesce(r.received_records, 0) as received_records,
    coalesce(r.valid_records, 0) as valid_records,
    round(coalesce(r.received_records, 0) / rule.expected_per_day, 4) as transmission_rate,
    round(coalesce(r.valid_records, 0) / rule.expected_per_day, 4) as effective_rate,
    o.outlet_mn is not null as is_registered,
    o.credit_code,
    o.region_code
from outlet_days as k
cross join rule
left join received as r using (outlet_mn, rate_date)
left join {{ ref('dim_outlet') }} as o on o.outlet_mn = k.outlet_mn
