-- Each section's single-item results per month: the value as reported, as read, and its class.
select
    p.section_code,
    p.period_start as month_start,
    p.item_code,
    v.reported as reported_value,
    p.value::decimal(14, 6) as value,
    p.is_below_detection_limit,
    p.is_not_detected,
    p.item_class_code,
    c.class_name as item_class_name,
    i.in_section_class
from {{ ref('int_water__section_period_items') }} p
join {{ ref('int_water__section_item_values') }} v
    on v.section_code = p.section_code and v.month_start = p.period_start and v.item_code = p.item_code
join {{ source('standards', 'gb3838_items') }} i on i.item_code = p.item_code
left join {{ source('standards', 'water_classes') }} c on c.class_code = p.item_class_code
where p.period_type = 'month'
