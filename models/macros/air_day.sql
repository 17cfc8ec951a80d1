{# The day an hourly air value belongs to (GB 3095 daily values): day D is the hours labelled
   D 01:00 … D+1 00:00. #}
{% macro air_day(observed_at) -%}
    ({{ observed_at }} - interval 1 hour)::date
{%- endmacro %}
