{#
  GB/T 8170 rounding ("四舍六入五成双": exactly half goes to the even neighbour) of a value to a
  number of decimals given by a column (DuckDB's round_even needs a constant precision on
  DECIMAL, hence one branch per precision). The value is taken as DECIMAL(18, 6) first so that a
  binary double such as 0.35 rounds as the decimal it stands for.
#}
{% macro round_gbt8170(value, decimals) -%}
    case {{ decimals }}
        {%- for d in range(0, 4) %}
        when {{ d }} then round_even(({{ value }})::decimal(18, 6), {{ d }})
        {%- endfor %}
    end
{%- endmacro %}
