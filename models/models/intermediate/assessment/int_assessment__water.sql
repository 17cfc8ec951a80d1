-- Scoreboard values of the surface-water indicators per region and period (month, ytd, year):
-- the share of national (国考) sections meeting their target class and the count worse than V;
-- ytd and year are classed on the mean values (int_water__section_period_class).
with

-- water: national (国考) sections' classes per period (ytd and year: classed on mean values)
national as (
    select
        s.period_type,
        s.period_start,
        case s.period_type  -- a year ends at its last month with data, whatever each section's last month
            when 'year' then max(s.period_end) over (partition by s.period_type, s.period_start)
            else s.period_end
        end as period_end,
        d.region_code,
        s.class_code,
        s.target_class_code
    from {{ ref('int_water__section_period_class') }} s
    join {{ ref('dim_section') }} d using (section_code)
    where d.section_level = '国考' and s.class_code is not null
),

water as (
    select 'water_national_section_compliance' as indicator_code, period_type, period_start, period_end,
           region_code, avg((class_code <= target_class_code)::integer) as value
    from national group by all
    union all
    select 'water_national_section_compliance', period_type, period_start, period_end, '510000',
           avg((class_code <= target_class_code)::integer)
    from national group by all
    union all
    select 'water_national_worse_than_v', period_type, period_start, period_end, region_code,
           count(*) filter (where class_code = (select max(class_code) from {{ source('standards', 'water_classes') }}))
    from national group by all
    union all
    select 'water_national_worse_than_v', period_type, period_start, period_end, '510000',
           count(*) filter (where class_code = (select max(class_code) from {{ source('standards', 'water_classes') }}))
    from national group by all
)

select * from water
