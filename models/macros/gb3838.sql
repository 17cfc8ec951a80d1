{# The GB 3838 item codes, read from the standards table when dbt runs (standards are data). #}
{% macro gb3838_item_codes() -%}
    {%- if execute -%}
        {%- set result = run_query("select item_code from " ~ source('standards', 'gb3838_items') ~ " order by item_order") -%}
        {{- return(result.columns[0].values()) -}}
    {%- else -%}
        {{- return(['ph']) -}}
    {%- endif -%}
{%- endmacro %}

{# The single-item class (1–5 for I–V, 6 for 劣V) of `value` for `item_code` in `water_body`
   (river | lake), from standards.gb3838_limits: the best class whose limit the value meets — at
   most the limit, at least it (dissolved oxygen), inside the range (pH). A value below the
   detection limit is the limit itself (an upper bound: it meets the classes the limit meets); not
   detected meets every class of an upper-limited item. NULL: no limit for the item in that water
   body, or nothing to compare. #}
{% macro gb3838_item_class(item_code, water_body, value, is_not_detected) -%}
    (
        select case
            when count(*) = 0 then null
            when {{ value }} is null and not coalesce({{ is_not_detected }}, false) then null
            when {{ value }} is null then case when bool_and(l.limit_lo is null) then 1 end
            else coalesce(min(l.class_code) filter (where
                ({{ value }} >= l.limit_lo or l.limit_lo is null)
                and ({{ value }} <= l.limit_hi or l.limit_hi is null)
            ), 6)
        end
        from {{ source('standards', 'gb3838_limits') }} l
        where l.item_code = {{ item_code }} and l.water_body in ('all', {{ water_body }})
    )
{%- endmacro %}
