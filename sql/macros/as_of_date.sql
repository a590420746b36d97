{#- The reports' "as of" date: the dbt var `as_of` (YYYY-MM-DD), or today in UTC. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of', none) -%}
    {%- if value -%}
        cast('{{ value }}' as date)
    {%- else -%}
        cast(now() at time zone 'UTC' as date)
    {%- endif -%}
{%- endmacro %}
