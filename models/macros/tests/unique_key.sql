{# Generic test: the columns together identify a row. It is how a model declares its primary key:
   catalog.primary_keys lists these columns, and the SQL gateway serves them as the table's primary
   key (pg_index, pg_constraint). #}
{% test unique_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
