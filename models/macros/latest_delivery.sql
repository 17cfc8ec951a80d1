{# The current version of each key among the rows of published batches (a held, rejected or
   reprocessed batch is never served): a later delivery (by arrival time) supersedes an earlier one;
   within one delivery the later line wins (exact repeats, e.g. a file listing every row twice).

   With `dataset` (<department>/<dataset>), for an incremental model (see incremental_rows.sql):
   rows carry `refreshed_at`, and an incremental build computes again only the keys of the
   deliveries whose status changed since the last build: published but not in the table (new, or
   superseded in full by later deliveries: those cost a little every build) and in the table but no
   longer published (re-run). The model deletes the rows of re-run deliveries after the build
   (`delete_unpublished`). #}
{% macro latest_delivery(relation, key_columns, dataset=none) -%}
    {%- set keys = key_columns | join(', ') -%}
    {%- set state = incremental_state() if dataset is not none else none -%}
    {%- if state is not none -%}
        {%- set changed_query -%}
            with
            built as materialized (select distinct delivery_id from {{ this }}),
            published as materialized ({{ published_deliveries(dataset) }})
            (select delivery_id from published except select delivery_id from built)
            union all
            (select delivery_id from built except select delivery_id from published)
        {%- endset -%}
        {%- set changed = run_query(changed_query).columns[0].values() -%}
    {%- endif -%}
    {%- if state is not none and changed | length > 1000 -%}
        {#- so many (a re-run of a whole year): every key, as a full build -#}
        {%- set state = none -%}
    {%- endif %}
    select *{% if dataset is not none %}, {{ refreshed_at() }} as refreshed_at{% endif %}
    from {{ relation }}
    {%- if state is not none %}
    semi join (
        select distinct {{ keys }} from {{ relation }} where delivery_id in {{ sql_string_list(changed) }}
    ) using ({{ keys }})
    {%- endif %}
    where delivery_id in ({{ published_deliveries() }})
    qualify row_number() over (
        partition by {{ keys }}
        order by arrived_at desc, delivery_id desc, source_line desc
    ) = 1
{%- endmacro %}


{# The deliveries whose rows may be served: those of published batches (the one place that says so),
   of every dataset or of one (<department>/<dataset>). #}
{% macro published_deliveries(dataset=none) -%}
    select delivery_id from {{ source('catalog', 'ingest_batches') }} where status = 'published'
    {%- if dataset is not none %} and dataset = '{{ dataset }}'{% endif %}
{%- endmacro %}
