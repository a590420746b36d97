{#- HTML the API sends in question texts, as one readable line. -#}
{% macro plain_text(column) -%}
    trim(regexp_replace(regexp_replace({{ column }}, '<[^>]*>', ' ', 'g'), '\s+', ' ', 'g'))
{%- endmacro %}
