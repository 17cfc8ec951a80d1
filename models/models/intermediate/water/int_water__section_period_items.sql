-- Each section's item values per period: the month's value, the mean of the months so far in the
-- year (ytd, ending at each month) and the annual mean (the 评价办法 classes a year by its mean
-- values), each with its single-item class (macro gb3838_item_class, limits from the standards).
-- Means are taken over the months with a number; below-detection values enter at their limit (the
-- mean is then an upper bound); a period with only "not detected" months is not detected.
with

values as (
    select * from {{ ref('int_water__section_item_values') }}
),

months as (
    select
        'month' as period_type, month_start as period_start, month_start as period_end,
        section_code, water_body, item_code, value, is_below_detection_limit, is_not_detected, 1 as months
    from values
),

ytd as (
    select
        'ytd' as period_type,
        date_trunc('year', e.month_start)::date as period_start,
        e.month_start as period_end,
        v.section_code, v.water_body, v.item_code,
        avg(v.value) as value,
        bool_or(v.is_below_detection_limit) as is_below_detection_limit,
        bool_and(v.is_not_detected) as is_not_detected,
        count(*) as months
    from (select distinct section_code, month_start from values) e  -- each month a section was measured
    join values v
        on v.section_code = e.section_code
        and v.month_start between date_trunc('year', e.month_start) and e.month_start
    group by all
),

years as (
    select
        'year' as period_type,
        date_trunc('year', month_start)::date as period_start,
        any_value(last_month) as period_end,
        section_code, water_body, item_code,
        avg(value) as value,
        bool_or(is_below_detection_limit) as is_below_detection_limit,
        bool_and(is_not_detected) as is_not_detected,
        count(*) as months
    from (
        select *, max(month_start) over (partition by section_code, year(month_start)) as last_month from values
    )
    group by period_type, period_start, section_code, water_body, item_code
),

periods as (
    select * from months
    union all by name select * from ytd
    union all by name select * from years
)

select
    p.*,
    {{ gb3838_item_class('p.item_code', 'p.water_body', 'p.value', 'p.is_not_detected') }} as item_class_code
from periods p
