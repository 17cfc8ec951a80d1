{# The records of one HJ 212 data command (a CN of standards.hj212_transmission: 2051 minute,
   2061 hourly, 2031 daily) per outlet, pollutant and DataTime, with the pollutant's units and the
   outlet's enterprise and city from the permit registry (NULL for an MN the registry lacks). #}
{% macro hj212_outlet_values(interval_name) -%}
select
    r.outlet_mn,
    r.pollutant_code,
    c.name_zh as pollutant_name,
    r.data_time,
    r.avg_value,
    r.min_value,
    r.max_value,
    r.zs_avg_value,
    r.zs_min_value,
    r.zs_max_value,
    r.cou_value,
    r.flag,
    c.unit,
    c.amount_unit,
    o.outlet_mn is not null as is_registered,
    o.credit_code,
    o.region_code,
    r.pollutant_code_sent,
    r.received_at,
    r.receipts,
    r.delivery_id,
    r.source_line
from {{ ref('int_pollution_source__hj212_records_current') }} as r
join {{ source('standards', 'hj212_transmission') }} as t on t.cn = r.command_code
left join {{ source('standards', 'hj212_pollutant_codes') }} as c on c.code_2017 = r.pollutant_code
left join {{ ref('dim_outlet') }} as o on o.outlet_mn = r.outlet_mn
where t.interval_name = '{{ interval_name }}'
{%- endmacro %}
