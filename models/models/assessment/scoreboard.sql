-- The action plan's scoreboard: one row per indicator, region (the province 510000 and its 21
-- cities), period type (month, ytd = January to the month, year) and period, with the target and
-- whether the value is on track (targets and comparisons: standards.action_plan_targets).
-- Each indicator comes from its own model (intermediate/assessment/int_assessment__<topic>);
-- indicators whose datasets are not modelled yet have no rows.
with

measured as (  -- each indicator's model: (indicator_code, period_type, period_start, period_end, region_code, value)
    {%- for model in ['int_assessment__air', 'int_assessment__water', 'int_assessment__climate', 'int_assessment__water_resources', 'int_assessment__water_env', 'int_assessment__agriculture'] %}
    select indicator_code, period_type, period_start, period_end, region_code, value from {{ ref(model) }}
    {{- '' if loop.last else '\n    union all' }}
    {%- endfor %}
),

cities as (
    select region_code from {{ source('standards', 'region') }} where level = 'city'
)

select
    m.indicator_code,
    t.name_zh as indicator_name,
    t.name_en as indicator_name_en,
    m.region_code,
    m.period_type,
    m.period_start,
    m.period_end,
    m.value::decimal(12, 4) as value,
    t.unit,
    t.target,
    t.comparison,
    case t.comparison when '>=' then m.value >= t.target when '<=' then m.value <= t.target end as is_on_track,
    string_split(t.source_datasets, '; ') as source_datasets
from measured m
join {{ source('standards', 'action_plan_targets') }} t using (indicator_code)
where m.region_code = '510000' or m.region_code in (select region_code from cities)
