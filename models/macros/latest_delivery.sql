{# The current version of each key among the rows of published batches (a held, rejected or
   reprocessed batch is never served): a later delivery (by arrival time) supersedes an earlier one;
   within one delivery the later line wins (exact repeats, e.g. a file listing every row twice). #}
{% macro latest_delivery(relation, key_columns) -%}
    select *
    from {{ relation }}
    where delivery_id in ({{ published_deliveries() }})
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by arrived_at desc, delivery_id desc, source_line desc
    ) = 1
{%- endmacro %}


{# The deliveries whose rows may be served: those of published batches (the one place that says so). #}
{% macro published_deliveries() -%}
    select delivery_id from {{ source('catalog', 'ingest_batches') }} where status = 'published'
{%- endmacro %}
