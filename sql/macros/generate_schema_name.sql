{#- Models go to the schema their folder names (staging, intermediate, reporting), not to
    dbt's default "<target schema>_<custom schema>": analysts and BI tools query
    reporting.<mart>. The pseudonymised build (var `pseudonymise`, pseudonymised.sql) goes to
    `<schema>_pseudonymised`: reporting_pseudonymised.<mart>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}{{ '_pseudonymised' if var('pseudonymise', none) is not none else '' }}
{%- endmacro %}
