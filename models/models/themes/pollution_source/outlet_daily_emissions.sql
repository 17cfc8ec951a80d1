-- Each outlet's emitted amount per pollutant and day from the -Cou of its hourly data (the sum of
-- the hours received), beside the daily record's own -Cou when one arrived. Amount units are the
-- code table's (kg for most pollutants, m³ for the flow).
with

hours as (
    select
        outlet_mn,
        pollutant_code,
        data_time::date as emission_date,
        sum(cou_value) as emission_from_hours,
        count(cou_value) as hours_with_amount
    from {{ ref('outlet_hourly_values') }}
    where cou_value is not null
    group by all
),

days as (
    select outlet_mn, pollutant_code, data_time::date as emission_date, cou_value as emission_reported_daily
    from {{ ref('outlet_daily_values') }}
    where cou_value is not null
)

select
    k.outlet_mn,
    k.pollutant_code,
    c.name_zh as pollutant_name,
    k.emission_date,
    h.emission_from_hours,
    coalesce(h.hours_with_amount, 0) as hours_with_amount,
    d.emission_reported_daily,
    c.amount_unit,
    o.credit_code,
    o.region_code
from (select outlet_mn, pollutant_code, emission_date from hours union select outlet_mn, pollutant_code, emission_date from days) as k
left join hours as h using (outlet_mn, pollutant_code, emission_date)
left join days as d using (outlet_mn, pollutant_code, emission_date)
left join {{ source('standards', 'hj212_pollutant_codes') }} as c on c.code_2017 = k.pollutant_code
left join {{ ref('dim_outlet') }} as o on o.outlet_mn = k.outlet_mn
