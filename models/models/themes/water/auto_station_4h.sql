-- Each automatic station's class every 4 hours from the GB 3838 items it measures (pH, dissolved
-- oxygen, CODMn, NH3-N, TP; TN is measured but does not count), beside the class CNEMC published.
with

current as (
    select * from {{ ref('int_water__auto_station_current') }}
),

items as (
    unpivot (
        select station_name, observed_at, ph, dissolved_oxygen, codmn, nh3_n, tp, tn from current
    )
    on ph, dissolved_oxygen, codmn, nh3_n, tp, tn
    into name item_code value value
),

classed as (
    select
        i.station_name,
        i.observed_at,
        max({{ gb3838_item_class('i.item_code', "'river'", 'i.value', 'false') }}) filter (where g.in_section_class)
            as class_code,
        count(*) filter (where g.in_section_class) as items_evaluated
    from items i
    join {{ source('standards', 'gb3838_items') }} g using (item_code)
    group by all
),

published as (
    select
        c.station_name,
        c.observed_at,
        sp.class_code as published_class_code
    from current c
    left join {{ source('standards', 'water_class_spellings') }} sp
        on sp.spelling = regexp_replace(upper(c.published_class), '[\s类]', '', 'g')
)

select
    c.station_name,
    c.observed_at,
    c.basin,
    c.station_status,
    k.class_code,
    wc.class_name,
    p.published_class_code,
    k.items_evaluated,
    c.water_temperature,
    c.ph,
    c.dissolved_oxygen,
    c.codmn,
    c.nh3_n,
    c.tp,
    c.tn,
    c.conductivity,
    c.turbidity
from current c
left join classed k using (station_name, observed_at)
left join published p using (station_name, observed_at)
left join {{ source('standards', 'water_classes') }} wc on wc.class_code = k.class_code
