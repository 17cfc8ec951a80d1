-- A section's class per period: the worst single-item class over the items that count
-- (standards.gb3838_items.in_section_class: not water temperature, TN or fecal coliform), compared
-- with the section's target class (its spelling read through standards.water_class_spellings).
with

items as (
    select p.*, i.in_section_class
    from {{ ref('int_water__section_period_items') }} p
    join {{ source('standards', 'gb3838_items') }} i using (item_code)
),

sections as (
    select
        section_code, month_start, section_level, water_body as water_body_zh, target_class,
        regexp_replace(
            translate(upper(target_class), '０１２３４５６７８９ＩＶ', '0123456789IV'), '[\s类]', '', 'g'
        ) as target_spelling
    from {{ ref('int_water__section_month_current') }}
),

-- the target and level in force at the end of the period (the latest month's delivery)
section_at as (
    select s.*, sp.class_code as target_class_code
    from sections s
    left join {{ source('standards', 'water_class_spellings') }} sp on sp.spelling = s.target_spelling
),

classed as (
    select
        period_type, period_start, period_end, section_code,
        max(item_class_code) filter (where in_section_class) as class_code,
        count(item_class_code) filter (where in_section_class) as items_evaluated,
        max(months) as months
    from items
    group by all
)

select
    c.period_type,
    c.period_start,
    c.period_end,
    c.section_code,
    s.section_level,
    s.water_body_zh,
    s.target_class_code,
    c.class_code,
    c.items_evaluated,
    c.months,
    list(i.item_code order by i.item_class_code desc, i.item_code)
        filter (where i.in_section_class and i.item_class_code > s.target_class_code) as items_over_target
from classed c
join section_at s on s.section_code = c.section_code and s.month_start = c.period_end
left join items i
    on i.section_code = c.section_code and i.period_type = c.period_type and i.period_end = c.period_end
group by all
