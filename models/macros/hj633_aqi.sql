{#
  HJ 633 air-quality index from a long relation of measured values.

  measures: a relation with the key columns, `assessed_on` (DATE: chooses the HJ 633 version in
  force), `measure` (e.g. so2_1h, pm2_5_24h, o3_8h_max) and `value`.
  aqi_kind: 'hourly' (实时报) or 'daily' (日报) — which measures are scored on which breakpoint row
  comes from standards.hj633_aqi_inputs.

  Everything numeric comes from the standards tables: breakpoints, the above-range rules, input
  rounding (GB/T 8170, half to even) and the publication rule for incomplete data. IAQI is
  rounded up (ceiling) exactly, in integer arithmetic on concentrations at 0.001 precision.
  Returns one row per key of `measures` (NULL values included): aqi (NULL when nothing was
  measured or it cannot be published), aqi_level, aqi_category, aqi_category_en, primary_pollutants, aqi_standard.
#}
{% macro hj633_aqi(measures, key_columns, aqi_kind) -%}
{%- set keys = key_columns | join(', ') -%}
{%- set on_keys = [] -%}
{%- set k_keys = [] -%}
{%- for k in key_columns -%}
    {%- do on_keys.append('w.' ~ k ~ ' = f.' ~ k) -%}
    {%- do k_keys.append('k.' ~ k) -%}
{%- endfor -%}
with
versions as (
    select * from {{ source('standards', 'hj633_versions') }}
),
inputs as (
    select * from {{ source('standards', 'hj633_aqi_inputs') }} where aqi_kind = '{{ aqi_kind }}'
),
pollutants as (
    select * from {{ source('standards', 'air_pollutants') }}
),
rules as (
    select * from {{ source('standards', 'hj633_above_range_rules') }}
),
in_force as (
    select m.*, v.standard_code, v.rounds_inputs, v.aqi_only_above_when_incomplete
    from {{ measures }} as m
    join versions as v
        on m.assessed_on between v.effective_from and coalesce(v.effective_to, date '9999-12-31')
),
scored_inputs as (
    select
        {{ keys }}, m.standard_code, m.aqi_only_above_when_incomplete, m.rounds_inputs,
        m.measure, i.pollutant_code, i.breakpoint_period, i.primary_code, p.report_decimals,
        case when m.rounds_inputs then {{ round_gbt8170('m.value', 'p.report_decimals') }}::decimal(18, 3)
             else m.value::decimal(18, 3) end as concentration
    from in_force as m
    join inputs as i on i.standard_code = m.standard_code and i.measure = m.measure
    join pollutants as p on p.pollutant_code = i.pollutant_code
    where m.value is not null
),
with_rule as (
    select s.*, r.action, r.fallback_measure, r.fallback_period, r.fixed_iaqi
    from scored_inputs as s
    left join rules as r
        on r.standard_code = s.standard_code
        and r.pollutant_code = s.pollutant_code
        and r.breakpoint_period = s.breakpoint_period
        and s.concentration > r.above_concentration
),
fallback_values as (
    select {{ keys }}, measure, value
    from in_force
    where measure in (select fallback_measure from rules where action = 'use_measure')
),
resolved as (
    select
        w.{{ key_columns | join(', w.') }}, w.standard_code, w.aqi_only_above_when_incomplete,
        w.measure, w.pollutant_code, w.primary_code,
        case
            when w.action = 'use_measure' and w.rounds_inputs
                then {{ round_gbt8170('f.value', 'w.report_decimals') }}::decimal(18, 3)
            when w.action = 'use_measure' then f.value::decimal(18, 3)
            else w.concentration
        end as concentration,
        case when w.action = 'use_measure' then w.fallback_period else w.breakpoint_period end as period,
        case when w.action = 'fixed_iaqi' then w.fixed_iaqi end as fixed_iaqi
    from with_rule as w
    left join fallback_values as f
        on {{ on_keys | join(' and ') }} and f.measure = w.fallback_measure
),
iaqi as (
    select
        r.*,
        coalesce(
            r.fixed_iaqi,
            -- IAQI_lo + ceil((IAQI_hi - IAQI_lo) * (C - BP_lo) / (BP_hi - BP_lo)), exactly
            -- above the top segment's BP_hi there is no IAQI (the above-range rules handle that)
            case when r.concentration <= b.bp_hi then b.iaqi_lo + (
                (b.iaqi_hi - b.iaqi_lo) * ((r.concentration - b.bp_lo) * 1000)::bigint
                + ((b.bp_hi - b.bp_lo) * 1000)::bigint - 1
            ) // ((b.bp_hi - b.bp_lo) * 1000)::bigint end
        ) as iaqi
    from resolved as r
    -- the segment with the greatest BP_lo at or below C: one sort-merge (ASOF) join instead of a
    -- range join and a de-duplication (a value on a boundary lies in two segments, which give the
    -- same IAQI: BP_hi of one is BP_lo of the next); a fixed IAQI ignores the segment
    asof left join {{ source('standards', 'hj633_iaqi_breakpoints') }} as b
        on b.standard_code = r.standard_code
        and b.pollutant_code = r.pollutant_code
        and b.averaging_period = r.period
        and r.concentration >= b.bp_lo
),
expected as (
    select standard_code, count(*) as n_expected from inputs group by standard_code
),
keys_in_force as (
    select distinct {{ keys }}, standard_code, aqi_only_above_when_incomplete
    from in_force
),
per_key as (
    -- every key, also one with nothing measured: its AQI is NULL but its standard is known
    select
        {{ k_keys | join(', ') }},
        any_value(k.standard_code) as standard_code,
        any_value(k.aqi_only_above_when_incomplete) as publish_above_when_incomplete,
        max(i.iaqi) as max_iaqi,
        count(i.iaqi) as n_scored,
        list({'code': i.primary_code, 'iaqi': i.iaqi}) filter (where i.iaqi is not null) as scored
    from keys_in_force as k
    left join iaqi as i using ({{ keys }})
    group by {{ k_keys | join(', ') }}
),
published as (
    select
        k.*,
        case
            when k.n_scored = 0 then null
            when k.n_scored < e.n_expected and k.publish_above_when_incomplete is not null
                and k.max_iaqi <= k.publish_above_when_incomplete then null
            else k.max_iaqi
        end::integer as aqi
    from per_key as k
    join expected as e using (standard_code)
),
categories as (
    select * from {{ source('standards', 'hj633_categories') }}
),
no_primary as (
    -- no primary pollutant while the AQI is within the best level (HJ 633 §4.4: AQI ≤ 50)
    select standard_code, aqi_hi as up_to from categories where level_code = 1
)
select
    {{ keys }},
    p.aqi,
    c.level_code as aqi_level,
    c.category_zh as aqi_category,
    c.category_en as aqi_category_en,
    case
        when p.aqi is null then null
        when p.aqi > n.up_to then list_sort(list_distinct(
            list_transform(list_filter(p.scored, s -> s.iaqi = p.aqi), s -> s.code)))
        else []::varchar[]
    end as primary_pollutants,
    p.standard_code as aqi_standard
from published as p
left join categories as c
    on c.standard_code = p.standard_code and p.aqi between c.aqi_lo and c.aqi_hi
left join no_primary as n on n.standard_code = p.standard_code
{%- endmacro %}
