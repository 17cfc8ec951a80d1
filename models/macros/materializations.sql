{# Tables and views rebuilt in one lake transaction, one DuckLake commit each.

   dbt's own table and view materializations build under a temporary name, rename the old relation
   to a backup, rename the new one into place, commit, and then drop the backup in a second commit.
   The renames are there for databases whose readers would otherwise see the relation missing; in
   DuckLake a transaction is a snapshot, so dropping the old relation and creating the new one
   inside one transaction is just as invisible to readers until the commit, and it saves the second
   commit (about 50 ms of catalog writes and one more snapshot per model, measured in dbt's log).
   A failed build rolls back with the old relation untouched. #}

{% materialization table, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set partitioned_by = duckdb__get_partitioned_by(target_relation, false) -%}
  {%- set sorted_by = duckdb__get_sorted_by(target_relation, false) -%}
  {% do rebuild_in_one_transaction(
      target_relation,
      create_table_as(False, target_relation, compiled_code, model['language'], partitioned_by=partitioned_by, sorted_by=sorted_by)
  ) %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{% materialization view, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='view') -%}
  {% do rebuild_in_one_transaction(target_relation, get_create_view_as_sql(target_relation, sql)) %}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{# Both materializations: hooks, the old relation dropped and the new one created, indexes, grants
   and comments, all in the model's transaction, then one commit. #}
{% macro rebuild_in_one_transaction(target_relation, create_sql) %}
  {%- set existing_relation = load_cached_relation(this) -%}
  {{ drop_swap_leftovers(target_relation) }}
  {{ run_hooks(pre_hooks, inside_transaction=False) }}
  {{ run_hooks(pre_hooks, inside_transaction=True) }}
  {% do adapter.ensure_transaction() %}
  {% if existing_relation is not none %}
    {% do adapter.drop_relation(existing_relation) %}
  {% endif %}
  {% call statement('main') -%}
    {{ create_sql }}
  {%- endcall %}
  {% do create_indexes(target_relation) %}
  {{ run_hooks(post_hooks, inside_transaction=True) }}
  {% do apply_grants(target_relation, config.get('grants'), should_revoke=should_revoke(existing_relation, full_refresh_mode=True)) %}
  {% do persist_docs(target_relation, model) %}
  {{ adapter.commit() }}
  {{ run_hooks(post_hooks, inside_transaction=False) }}
{% endmacro %}

{# The temporary and backup relations of dbt's own rename swap, left by a build that was killed
   mid-swap before these materializations (found in dbt's relation cache; no query when none). #}
{% macro drop_swap_leftovers(target_relation) %}
  {% for leftover in [make_intermediate_relation(target_relation), make_backup_relation(target_relation, target_relation.type)] %}
    {{ drop_relation_if_exists(load_cached_relation(leftover)) }}
  {% endfor %}
{% endmacro %}
