{#- Models go to the schema their folder names (staging, intermediate, reporting), not to
    dbt's default "<target schema>_<custom schema>": analysts and BI tools query
    reporting.<mart>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
