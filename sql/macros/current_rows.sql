{#- The current rows of a raw table. A row is current when `_dlt_valid_to is null`: the
    pipeline sets `_dlt_valid_to` when it notices a row was deleted upstream (or retired a
    version of an SCD2 row). A table without the column keeps every row: nothing in it has
    been deleted. Used by every staging model, so the rule lives here alone. In the pseudonymised
    build the rows' personal data is replaced first (personal_rows). The subquery
    carries an alias: PostgreSQL requires one. -#}
{% macro current_rows(relation) -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
    (select * from {{ personal_rows(relation) }}{% if '_dlt_valid_to' in columns %} where _dlt_valid_to is null{% endif %}) as current_rows
{%- endmacro %}
