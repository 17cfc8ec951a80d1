{# The lineage every staging model carries from raw: which delivery, file and line a row came
   from, and when it arrived (latest_delivery orders by these). #}
{% macro lineage_columns() -%}
    _delivery_id as delivery_id,
    _source_file as source_file,
    _source_line as source_line,
    _arrived_at as arrived_at
{%- endmacro %}
