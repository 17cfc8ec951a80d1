-- Records above the outlet's permitted upper limit (or below its lower limit: pH), on the records
-- and flags standards.hj212_anomaly_rules names for exceedances (hourly data, flag N). The value
-- compared is the converted concentration (ZsAvg) when the packet sent one — waste-gas limits
-- apply to it — else Avg.
with

basis as (
    select value as command_code from {{ source('standards', 'hj212_anomaly_rules') }}
    where rule = 'exceedance' and parameter = 'cn'
),

valid_flags as (
    select unnest(string_split(valid_flags, '|')) as flag, cn as command_code
    from {{ source('standards', 'hj212_transmission') }}
),

compared as (
    select
        r.*,
        coalesce(r.zs_avg_value, r.avg_value) as compared_value,
        case when r.zs_avg_value is not null then 'ZsAvg' else 'Avg' end as compared_field
    from {{ ref('int_pollution_source__hj212_records_current') }} as r
    join basis using (command_code)
    join valid_flags using (command_code, flag)
)

select
    c.outlet_mn,
    c.pollutant_code,
    l.pollutant_name,
    c.data_time,
    c.command_code,
    c.compared_field,
    c.compared_value,
    l.limit_lower::double as limit_lower,
    l.limit_upper::double as limit_upper,
    l.limit_unit,
    case when c.compared_value > l.limit_upper then 'above' else 'below' end as direction,
    -- 超标倍数: how far above the upper limit, in multiples of it
    case when c.compared_value > l.limit_upper
        then round((c.compared_value - l.limit_upper::double) / l.limit_upper::double, 4)
    end as exceedance_multiple,
    c.flag,
    l.credit_code,
    l.region_code,
    c.received_at,
    c.delivery_id,
    c.source_line
from compared as c
join {{ ref('permitted_limits') }} as l using (outlet_mn, pollutant_code)
where c.compared_value > l.limit_upper or c.compared_value < l.limit_lower
