{# A served table of section classes for one period type (month | year) of
   int_water__section_period_class, with the class names, quality level and the section's city. #}
{% macro water_section_period(period_type) %}
select
    p.section_code,
    {% if period_type == 'month' %}p.period_start as month_start{% else %}year(p.period_start)::integer as year{% endif %},
    d.region_code,
    d.section_level,
    d.water_body,
    p.target_class_code,
    t.class_name as target_class_name,
    p.class_code,
    c.class_name,
    c.level_zh as quality_level,
    c.level_en as quality_level_en,
    c.is_good,
    p.class_code <= p.target_class_code as meets_target,
    p.class_code = (select max(class_code) from {{ source('standards', 'water_classes') }}) as is_worse_than_v,
    coalesce(p.items_over_target, []::varchar[]) as items_over_target,
    p.items_evaluated,
    p.months
from {{ ref('int_water__section_period_class') }} p
join {{ ref('dim_section') }} d using (section_code)
left join {{ source('standards', 'water_classes') }} c on c.class_code = p.class_code
left join {{ source('standards', 'water_classes') }} t on t.class_code = p.target_class_code
where p.period_type = '{{ period_type }}'
{% endmacro %}
