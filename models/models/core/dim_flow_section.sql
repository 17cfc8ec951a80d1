-- River control sections of the eco-flow deliveries (水利厅) as last delivered: river, section name,
-- the city whose sheet lists it (GB/T 2260) and the days delivered. A section carries no code in the
-- delivery: it is its river and name.
with

delivered as (
    select * from {{ ref('int_water__eco_flow_day_current') }}
),

latest as (
    select river, section_name, city_name
    from delivered
    qualify row_number() over (partition by river, section_name order by observed_date desc, arrived_at desc) = 1
),

spans as (
    select river, section_name, min(observed_date) as first_observed_date, max(observed_date) as last_observed_date
    from delivered
    group by all
)

select
    l.river,
    l.section_name,
    r.region_code,
    l.city_name,
    s.first_observed_date,
    s.last_observed_date
from latest l
join spans s using (river, section_name)
left join {{ source('standards', 'region') }} r on r.name_zh = l.city_name and r.level = 'city'
