{#- Where SQL engines differ, and nowhere else. The models are written once; each difference
    is a macro dispatched on the adapter (dbt's adapter.dispatch): `default__` is the form
    DuckDB (and Snowflake, Databricks) understand, `postgres__` PostgreSQL's. A new engine adds
    its own `<adapter>__` variant here, never a copy of a model.

    Both engines must give the same rows: tests/models/test_postgres_models.py builds every mart on
    DuckDB and on PostgreSQL from the same portal and compares them row for row. -#}


{#- The first row per `partition_by` in `order_by` order, of the one select statement in the
    call block (its where clause included):
        {% call first_row_per('source.id', 'source.updated_at desc nulls last') %} select ... {% endcall %}
    DuckDB filters a row_number with QUALIFY; PostgreSQL has no QUALIFY and keeps the same row
    with DISTINCT ON, whose ORDER BY must begin with the partition. -#}
{% macro first_row_per(partition_by, order_by) -%}
    {{ return(adapter.dispatch('first_row_per', 'lms_warehouse')(partition_by, order_by, caller())) }}
{%- endmacro %}

{% macro default__first_row_per(partition_by, order_by, body) -%}
{{ body | trim }}
    qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}

{% macro postgres__first_row_per(partition_by, order_by, body) -%}
    {%- set statement = body | trim -%}
    {%- if statement[:6] | lower != 'select' or statement[6:15] | lower | trim == 'distinct' -%}
        {{ exceptions.raise_compiler_error("first_row_per wraps one plain select statement, got: " ~ statement[:40]) }}
    {%- endif -%}
select distinct on ({{ partition_by }}){{ statement[6:] }}
    order by {{ partition_by }}, {{ order_by }}
{%- endmacro %}


{#- Any value of a group where all are equal (PostgreSQL before 16 has no any_value). -#}
{% macro any_value(expression) -%}
    {{ return(adapter.dispatch('any_value', 'lms_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__any_value(expression) -%}
    any_value({{ expression }})
{%- endmacro %}

{% macro postgres__any_value(expression) -%}
    min({{ expression }})
{%- endmacro %}


{#- The value of the group's row with the largest key; rows whose value or key is null do not count. -#}
{% macro arg_max(value, key) -%}
    {{ return(adapter.dispatch('arg_max', 'lms_warehouse')(value, key)) }}
{%- endmacro %}

{% macro default__arg_max(value, key) -%}
    arg_max({{ value }}, {{ key }})
{%- endmacro %}

{% macro postgres__arg_max(value, key) -%}
    (array_agg({{ value }} order by {{ key }} desc) filter (where {{ value }} is not null and {{ key }} is not null))[1]
{%- endmacro %}


{#- part / whole as a double rounded to 4 places, null when whole is 0. DuckDB divides integers
    exactly; PostgreSQL truncates them, and rounds only numerics. -#}
{% macro rate(part, whole) -%}
    {{ return(adapter.dispatch('rate', 'lms_warehouse')(part, whole)) }}
{%- endmacro %}

{% macro default__rate(part, whole) -%}
    round({{ part }} / nullif({{ whole }}, 0), 4)
{%- endmacro %}

{% macro postgres__rate(part, whole) -%}
    cast(round(cast({{ part }} as numeric) / nullif({{ whole }}, 0), 4) as double precision)
{%- endmacro %}


{#- The last day of the month `months_back` months before a date, as a date. -#}
{% macro month_end_before(day, months_back) -%}
    {{ return(adapter.dispatch('month_end_before', 'lms_warehouse')(day, months_back)) }}
{%- endmacro %}

{% macro default__month_end_before(day, months_back) -%}
    cast(last_day({{ day }} - to_months(cast({{ months_back }} as integer))) as date)
{%- endmacro %}

{% macro postgres__month_end_before(day, months_back) -%}
    cast(date_trunc('month', {{ day }} - make_interval(months => cast({{ months_back }} as integer)))
        + interval '1 month' - interval '1 day' as date)
{%- endmacro %}


{#- A date as 'YYYY-MM'. -#}
{% macro year_month(day) -%}
    {{ return(adapter.dispatch('year_month', 'lms_warehouse')(day)) }}
{%- endmacro %}

{% macro default__year_month(day) -%}
    strftime({{ day }}, '%Y-%m')
{%- endmacro %}

{% macro postgres__year_month(day) -%}
    to_char({{ day }}, 'YYYY-MM')
{%- endmacro %}


{#- Calendar days (UTC) from one timestamp to another. -#}
{% macro days_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('days_between', 'lms_warehouse')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__days_between(start_at, end_at) -%}
    date_diff('day', {{ start_at }}, {{ end_at }})
{%- endmacro %}

{% macro postgres__days_between(start_at, end_at) -%}
    (cast({{ end_at }} at time zone 'UTC' as date) - cast({{ start_at }} at time zone 'UTC' as date))
{%- endmacro %}


{#- Text as a bigint, null when it is not a whole number (DuckDB's try_cast). -#}
{% macro try_cast_bigint(text) -%}
    {{ return(adapter.dispatch('try_cast_bigint', 'lms_warehouse')(text)) }}
{%- endmacro %}

{% macro default__try_cast_bigint(text) -%}
    try_cast({{ text }} as bigint)
{%- endmacro %}

{% macro postgres__try_cast_bigint(text) -%}
    case when trim({{ text }}) ~ '^[+-]?[0-9]{1,18}$' then cast(trim({{ text }}) as bigint) end
{%- endmacro %}


{#- Text YYYY-MM-DD as a date, null when it is not one (PostgreSQL: the shape is checked; the
    pipeline writes only dates it produced itself). -#}
{% macro try_cast_date(text) -%}
    {{ return(adapter.dispatch('try_cast_date', 'lms_warehouse')(text)) }}
{%- endmacro %}

{% macro default__try_cast_date(text) -%}
    try_cast({{ text }} as date)
{%- endmacro %}

{% macro postgres__try_cast_date(text) -%}
    case when {{ text }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$' then cast({{ text }} as date) end
{%- endmacro %}


{#- dbt-postgres reads a column's type from information_schema, which names every array type
    "ARRAY": a unit test's fixture row cannot be cast to that. The element type's name
    ("_int8" -> bigint[]) can. (A root-project macro overrides dbt-postgres's own.) -#}
{% macro postgres__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select
          column_name,
          case when data_type = 'ARRAY' then cast(cast(udt_name as regtype) as text) else data_type end as data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale
      from {{ relation.information_schema('columns') }}
      where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
        and table_schema = '{{ relation.schema }}'
        {% endif %}
      order by ordinal_position
  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{%- endmacro %}
