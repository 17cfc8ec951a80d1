{# The scoreboard's periods over the months of `months` (a relation with month_start): every
   month, the year so far at every month (ytd), and every year ending at its last month; each with
   the months it covers (m_from … m_to). #}
{% macro assessment_periods(months) -%}
    select 'month' as period_type, month_start as period_start, month_start as period_end,
           month_start as m_from, month_start as m_to
    from {{ months }}
    union all
    select 'ytd', date_trunc('year', month_start)::date, month_start, date_trunc('year', month_start)::date, month_start
    from {{ months }}
    union all
    select distinct 'year', date_trunc('year', month_start)::date, max(month_start) over (partition by year(month_start)),
           date_trunc('year', month_start)::date, max(month_start) over (partition by year(month_start))
    from {{ months }}
{%- endmacro %}
