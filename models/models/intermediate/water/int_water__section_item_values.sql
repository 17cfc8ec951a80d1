-- One row per section, month and GB 3838 item with a reported value, read as a number:
--   full-width digits and signs are made ASCII;
--   "0.01L" and "<0.01" are below the detection limit 0.01: value = the limit, an upper bound;
--   "ND"/"未检出" (not detected, no limit given): value NULL, is_not_detected.
with

current as (
    select * from {{ ref('int_water__section_month_current') }}
),

long as (
    unpivot (
        select
            section_code, month_start, water_body,
            columns(c -> c in ({% for item in gb3838_item_codes() %}'{{ item }}'{{ "," if not loop.last }}{% endfor %}))
        from current
    )
    on columns(* exclude (section_code, month_start, water_body))
    into name item_code value reported
),

normalised as (
    select
        section_code,
        month_start,
        case water_body when '湖库' then 'lake' else 'river' end as water_body,
        item_code,
        reported,
        upper(trim(translate(reported, '０１２３４５６７８９．＜Ｌｌ', '0123456789.<LL'))) as text
    from long
    where reported is not null and trim(reported) <> ''
)

select
    section_code,
    month_start,
    water_body,
    item_code,
    reported,
    coalesce(
        try_cast(text as decimal(14, 6)),
        try_cast(regexp_extract(text, '^<\s*([0-9.]+)$', 1) as decimal(14, 6)),
        try_cast(regexp_extract(text, '^([0-9.]+)\s*L$', 1) as decimal(14, 6))
    ) as value,
    text like '<%' or regexp_matches(text, '^[0-9.]+\s*L$') as is_below_detection_limit,
    text in ('ND', '未检出') as is_not_detected
from normalised
