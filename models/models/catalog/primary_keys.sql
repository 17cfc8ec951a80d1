{#- The primary key of every model that declares one with the unique_key test, read from dbt's
    graph when the model runs: one row per key column. The SQL gateway serves these keys in
    pg_index and pg_constraint; analysts can join on them. -#}
{%- set rows = [] -%}
{%- if execute -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'test' and node.test_metadata and node.test_metadata.name == 'unique_key' -%}
            {%- set model = graph.nodes[node.attached_node] -%}
            {%- for column in node.test_metadata.kwargs['columns'] -%}
                {%- do rows.append((model.schema, model.alias, column, loop.index)) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
select table_schema::varchar as table_schema, table_name::varchar as table_name,
       column_name::varchar as column_name, key_position::integer as key_position
from (values
{%- for schema, table, column, position in rows | sort %}
    ('{{ schema }}', '{{ table }}', '{{ column }}', {{ position }}){{ "," if not loop.last }}
{%- else %}
    (null, null, null, null)
{%- endfor %}
) as keys(table_schema, table_name, column_name, key_position)
{%- if not rows %}
where false
{%- endif %}
