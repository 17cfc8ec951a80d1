-- The records behind each enforcement lead (anomaly_leads.lead_id): the minutes of a flatline, the
-- hours with zero variance or just under the limit, the flagged minutes, the gaps of missing data.
select
    lead_id,
    row_number() over (partition by lead_id order by data_time, field, pollutant_code) as evidence_no,
    rule,
    outlet_mn,
    pollutant_code,
    command_code,
    data_time,
    data_time_end,
    field,
    value,
    flag,
    note
from {{ ref('int_pollution_source__hj212_lead_evidence') }}
