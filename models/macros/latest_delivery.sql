{# The current version of each key: a later delivery (by arrival time) supersedes an earlier one;
   within one delivery the later line wins (exact repeats, e.g. a file listing every row twice). #}
{% macro latest_delivery(relation, key_columns) -%}
    select *
    from {{ relation }}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by arrived_at desc, delivery_id desc, source_line desc
    ) = 1
{%- endmacro %}
