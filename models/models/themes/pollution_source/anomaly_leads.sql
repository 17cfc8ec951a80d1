-- Enforcement leads from HJ 212 data: one row per rule broken by an outlet (and pollutant) on a
-- day or over a run of minutes, with the figure that broke the rule and the threshold of
-- standards.hj212_anomaly_rules; the supporting records are in anomaly_lead_evidence.
with

evidence as (
    select * from {{ ref('int_pollution_source__hj212_lead_evidence') }}
),

rules as (
    select distinct rule, name_zh from {{ source('standards', 'hj212_anomaly_rules') }}
)

select
    e.lead_id,
    e.rule,
    r.name_zh as rule_name_zh,
    e.outlet_mn,
    e.lead_pollutant_code as pollutant_code,
    min(e.lead_start)::date as lead_date,
    min(coalesce(e.data_time, e.lead_start)) as started_at,
    max(coalesce(e.data_time_end, e.data_time)) as ended_at,
    any_value(e.measure) as measure,
    any_value(e.threshold) as threshold,
    count(*) as evidence_rows,
    o.outlet_mn is not null as is_registered,
    o.credit_code,
    o.enterprise_name,
    o.region_code
from evidence as e
join rules as r using (rule)
left join {{ ref('dim_outlet') }} as o on o.outlet_mn = e.outlet_mn
group by e.lead_id, e.rule, r.name_zh, e.outlet_mn, e.lead_pollutant_code, o.outlet_mn, o.credit_code, o.enterprise_name, o.region_code
