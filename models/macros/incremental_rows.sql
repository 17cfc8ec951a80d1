{#
  What lets an incremental model of ecolake touch only what changed and still equal a full rebuild.

  - `refreshed_at`: every row carries the start of the dbt invocation that computed it (UTC). A model
    downstream of an incremental model reads only the upstream rows refreshed after its own newest
    row.
  - A digest of every row of the small tables a row's value depends on (standards, dimensions):
    when it differs from the one the rows carry, every row is computed again, and rows still left
    with the old digest (keys no longer produced) are deleted after the build (`delete_stale_digest`).
  - Rows of deliveries no longer published (a batch re-run replaced them) are deleted after the
    build (`delete_unpublished`); their keys are computed again from the deliveries still published.
  - A table built before these columns existed is computed again in full once; the project's
    `on_schema_change: append_new_columns` (dbt_project.yml, with `incremental_strategy:
    delete+insert`) adds the columns.

  `incremental_state` reads the newest refreshed_at (and the digest) when the model runs and the
  model writes it into its SQL as a constant: DuckDB skips row groups on a constant filter, not on
  a subquery.
#}

{# The invocation's start, the same for every row a build writes. #}
{% macro refreshed_at() -%}
    cast('{{ run_started_at.isoformat() }}' as timestamptz)
{%- endmacro %}


{# One hash of every row of the given relations (tables, or parenthesised selects). #}
{% macro inputs_digest(relations) -%}
    hash(
    {%- for relation in relations %}
        (select list(t order by t) from {{ relation }} as t){{ ',' if not loop.last }}
    {%- endfor %}
    )
{%- endmacro %}


{# The state of this incremental table when the model runs: none when the build computes every row
   (a first or full-refresh build, a table built before `columns` existed, rows computed under
   other inputs than the query `digest_sql` returns); otherwise {'since': the newest refreshed_at
   as a SQL literal}. #}
{% macro incremental_state(columns=['refreshed_at'], digest_column=none, digest_sql=none) -%}
    {%- if not execute or not is_incremental() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set present = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
    {%- for column in columns + ([digest_column] if digest_column else []) -%}
        {%- if column not in present -%}
            {{- return(none) -}}
        {%- endif -%}
    {%- endfor -%}
    {%- set query -%}
        select
            cast(max(refreshed_at) as varchar) as since
            {%- if digest_column %},
            coalesce(
                min({{ digest_column }}) = ({{ digest_sql }}) and max({{ digest_column }}) = ({{ digest_sql }}),
                true
            ) as digest_current
            {%- endif %}
        from {{ this }}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if digest_column and not row['digest_current'] -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set since = "'-infinity'" if row['since'] is none else "'" ~ row['since'] ~ "'" -%}
    {{- return({'since': since ~ '::timestamptz'}) -}}
{%- endmacro %}


{# A SQL list of string literals ('a', 'b'), or (null) for none: `x in (null)` is never true. #}
{% macro sql_string_list(values) -%}
    ({%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}{%- else -%}null{%- endfor -%})
{%- endmacro %}


{# After a build: rows of deliveries re-run since (`reprocessed` is the one way a published batch
   stops being published; held and rejected batches were never in the table). Read when the hook
   runs: with no re-run delivery there is nothing to delete and no statement. #}
{% macro delete_unpublished() -%}
    {%- if execute -%}
        {%- set rerun = run_query(
            "select delivery_id from " ~ source('catalog', 'ingest_batches') ~ " where status = 'reprocessed'"
        ).columns[0].values() -%}
        {%- if rerun | length > 0 -%}
            delete from {{ this }} where delivery_id in {{ sql_string_list(rerun) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{# After a build: rows whose digest differs from the rows this build wrote (a digest changes only
   when every row is computed again, so these are keys no longer produced). A build that wrote no
   row deletes nothing. #}
{% macro delete_stale_digest(digest_column) -%}
    delete from {{ this }}
    where {{ digest_column }} <> (
        select any_value({{ digest_column }}) from {{ this }} where refreshed_at = {{ refreshed_at() }}
    )
{%- endmacro %}


{# After a build: rows whose key is no longer in `relation` (its rows that match `where`, a mapping of
   column to value), for a table with one row per key of those. Read when the hook runs: when the
   counts agree nothing is missing, and there is no statement. #}
{% macro delete_rows_without_source(relation, key_columns, where={}) -%}
    {%- set conditions = [] -%}
    {%- for column, value in where.items() -%}
        {%- do conditions.append('s.' ~ column ~ " = '" ~ value ~ "'") -%}
    {%- endfor -%}
    {%- if execute -%}
        {%- set check -%}
            select
                (select count(*) from {{ this }})
                = (select count(*) from {{ relation }} as s {% if conditions %}where {{ conditions | join(' and ') }}{% endif %})
        {%- endset -%}
        {%- if not run_query(check).columns[0].values()[0] -%}
            delete from {{ this }} as t
            where not exists (
                select 1 from {{ relation }} as s
                where {% for key in key_columns %}s.{{ key }} = t.{{ key }}{{ ' and ' if not loop.last }}{% endfor %}
                {%- for condition in conditions %} and {{ condition }}{% endfor %}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{# Air stations (of Sichuan: the air themes serve no other) whose city or control flag differs from
   the rows this table holds, or that it does not hold yet: their rows are computed again. Read when
   the model runs. #}
{% macro air_stations_changed() -%}
    {%- set query -%}
        select station_code, region_code, is_control_station from {{ ref('dim_station') }}
        where province_code = '510000'
        except
        select distinct station_code, region_code, is_control_station from {{ this }}
    {%- endset -%}
    {{- return(run_query(query).columns[0].values()) -}}
{%- endmacro %}
