-- Surface-water assessment sections as last delivered: river, basin, city (GB/T 2260), level
-- (国考/省考), water body and target class.
with

latest as (
    select *
    from {{ ref('int_water__section_month_current') }}
    qualify row_number() over (partition by section_code order by month_start desc, arrived_at desc) = 1
)

select
    l.section_code,
    l.section_name,
    l.river,
    l.basin,
    r.region_code,
    l.city_name,
    l.section_level,
    case l.water_body when '湖库' then 'lake' else 'river' end as water_body,
    c.target_class_code,
    wc.class_name as target_class_name
from latest l
left join {{ source('standards', 'region') }} r on r.name_zh = l.city_name
left join (
    select section_code, target_class_code
    from {{ ref('int_water__section_period_class') }}
    where period_type = 'month'
    qualify row_number() over (partition by section_code order by period_end desc) = 1
) c using (section_code)
left join {{ source('standards', 'water_classes') }} wc on wc.class_code = c.target_class_code
