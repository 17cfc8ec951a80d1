{# Check characters of identification codes in SQL, from the standards tables (GB 32100 credit
   codes: scheme 'gb32100'; GB 11714 organisation codes: 'gb11714'), the same rule the contract
   engine applies at ingest (pipelines/check_characters.py):
   check value = (modulus − Σ value(body character i) · weight(i) mod modulus) mod modulus,
   written as the character with that value.

   check_character_validity(scheme, relation, code_expression) is a relation with one row per
   distinct non-null code of the relation: code, is_valid (false: wrong length, a character outside
   the scheme's set, or a wrong check character). Join it on the code. #}
{% macro check_character_validity(scheme, relation, code_expression) -%}
    with

    codes as (
        select distinct {{ code_expression }} as code
        from {{ relation }}
        where {{ code_expression }} is not null
    ),

    scheme as (
        select * from {{ source('standards', 'check_character_schemes') }} where scheme = '{{ scheme }}'
    ),

    weighted as (
        select
            c.code,
            any_value(s.code_length) as code_length,
            any_value(s.modulus) as modulus,
            count(v.value) as known_characters,
            sum(v.value * w.weight) as weighted_sum
        from codes as c
        cross join scheme as s
        join {{ source('standards', 'check_character_weights') }} as w on w.scheme = s.scheme
        left join {{ source('standards', 'check_character_values') }} as v
            on v.scheme = s.scheme and v.use in ('body', 'both') and v.character = substr(c.code, w.position, 1)
        group by c.code
    )

    select
        w.code,
        coalesce(
            length(w.code) = w.code_length
            and w.known_characters = w.code_length - 1
            and substr(w.code, w.code_length, 1) = k.character,
            false
        ) as is_valid
    from weighted as w
    left join {{ source('standards', 'check_character_values') }} as k
        on k.scheme = '{{ scheme }}'
        and k.use in ('check', 'both')
        and k.value = (w.modulus - w.weighted_sum % w.modulus) % w.modulus
{%- endmacro %}
