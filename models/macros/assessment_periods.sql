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

{# An indicator that is a share of counts: `counts` has period_type, period_start, period_end,
   region_code (a city), numerator and denominator; each city's share, and the province 510000's
   pooled over its cities (the sums of both counts, not the mean of the shares). #}
{% macro pooled_share(indicator_code, counts) -%}
    select '{{ indicator_code }}' as indicator_code, period_type, period_start, period_end, region_code,
           numerator / nullif(denominator, 0) as value
    from {{ counts }}
    union all
    select '{{ indicator_code }}', period_type, period_start, period_end, '510000',
           sum(numerator) / nullif(sum(denominator), 0)
    from {{ counts }}
    group by all
{%- endmacro %}
