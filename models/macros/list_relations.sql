{# dbt-duckdb lists a schema's relations from information_schema.tables, that is duckdb_tables(),
   which has DuckLake estimate the size of every table of the lake: 1.7 s at the first listing of
   every dbt process on a three-year warehouse, measured. The column and view catalogs give the same
   names and kinds in milliseconds. (The project's copy of the adapter's macro: dispatch takes it
   first.) #}
{% macro duckdb__list_relations_without_caching(schema_relation) %}
  {%- set database = schema_relation.database | lower -%}
  {%- set schema = schema_relation.schema | lower -%}
  {% call statement('list_relations_without_caching', fetch_result=True) -%}
    with
    views as (
        select view_name as name
        from duckdb_views()
        where lower(database_name) = '{{ database }}' and lower(schema_name) = '{{ schema }}'
    ),
    tables as (
        select distinct table_name as name
        from duckdb_columns()
        where lower(database_name) = '{{ database }}' and lower(schema_name) = '{{ schema }}'
    )
    select '{{ schema_relation.database }}' as database, name, '{{ schema_relation.schema }}' as schema, 'view' as type
    from views
    union all
    select '{{ schema_relation.database }}', name, '{{ schema_relation.schema }}', 'table'
    from tables
    where name not in (select name from views)
  {%- endcall %}
  {{ return(load_result('list_relations_without_caching').table) }}
{% endmacro %}
