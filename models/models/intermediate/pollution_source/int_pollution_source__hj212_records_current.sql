-- One row per outlet MN, data command (CN 2051 minute, 2061 hourly, 2031 daily: the commands of
-- standards.hj212_transmission), DataTime and pollutant, from the packet received last among those
-- of published segments: a packet resent after a reconnect (same bytes, a new QN, or a 2005
-- packet without QN) is published once. The packet's fields of the pollutant side by side.
with

published as (
    select *
    from {{ ref('stg_pollution_source__hj212_values') }}
    where command_code in (select cn from {{ source('standards', 'hj212_transmission') }})
        and delivery_id in ({{ published_deliveries() }})
),

receipts as (  -- each packet once
    select outlet_mn, command_code, data_time, delivery_id, source_line, max(received_at) as received_at
    from published
    group by all
),

latest as (
    select *, count(*) over (partition by outlet_mn, command_code, data_time) as receipts
    from receipts
    qualify row_number() over (
        partition by outlet_mn, command_code, data_time
        order by received_at desc, delivery_id desc, source_line desc
    ) = 1
)

select
    v.outlet_mn,
    v.command_code,
    v.data_time,
    v.pollutant_code,
    any_value(v.pollutant_code_sent) as pollutant_code_sent,
    any_value(v.system_code) as system_code,
    max(v.value) filter (where v.field = 'Avg') as avg_value,
    max(v.value) filter (where v.field = 'Min') as min_value,
    max(v.value) filter (where v.field = 'Max') as max_value,
    max(v.value) filter (where v.field = 'ZsAvg') as zs_avg_value,
    max(v.value) filter (where v.field = 'ZsMin') as zs_min_value,
    max(v.value) filter (where v.field = 'ZsMax') as zs_max_value,
    max(v.value) filter (where v.field = 'Cou') as cou_value,
    any_value(v.flag) as flag,
    l.received_at,
    l.receipts,
    l.delivery_id,
    l.source_line
from published as v
join latest as l using (outlet_mn, command_code, data_time, delivery_id, source_line)
group by v.outlet_mn, v.command_code, v.data_time, v.pollutant_code, l.received_at, l.receipts, l.delivery_id, l.source_line
