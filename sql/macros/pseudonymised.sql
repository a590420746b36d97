{#- The pseudonymised build (`lms-warehouse models --pseudonymised`, docs/personal-data.md): the same
    models, built again into schemas named `<schema>_pseudonymised` from raw rows whose personal data is
    replaced as the table registry's classes say. The plan comes from the registry as the dbt var
    `pseudonymise` ({table: {column: keep | hash | drop}}, pipelines/privacy/plan.py); without it (every
    other build) nothing here changes a model. -#}


{#- A raw table as the models read it: itself, or in the pseudonymised build its declared columns only,
    direct identifiers as keyed pseudonyms, free text as NULL (a field the registry does not know is left
    out; dlt's own columns are kept). Used by current_rows and by every model that reads a raw table whole. -#}
{% macro personal_rows(relation) -%}
    {%- set plan = var('pseudonymise', none) -%}
    {%- if plan is none or not execute -%}
        {{ relation }}
    {%- else -%}
        {%- set actions = plan.get(relation.identifier) -%}
        {%- if actions is none -%}
            {{ exceptions.raise_compiler_error("no personal-data plan for " ~ relation ~ ": declare the table in pipelines/learnupon/tables.py") }}
        {%- endif -%}
        {%- set selected = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- set name = column.name | lower -%}
            {%- set action = actions.get(name, 'keep' if name.startswith('_dlt_') else 'omit') -%}
            {%- set quoted = adapter.quote(column.name) -%}
            {%- if action == 'keep' -%}
                {%- do selected.append(quoted) -%}
            {%- elif action == 'hash' -%}
                {%- do selected.append(pseudonym(quoted) ~ ' as ' ~ quoted) -%}
            {%- elif action == 'drop' -%}
                {%- do selected.append('cast(null as ' ~ column.data_type ~ ') as ' ~ quoted) -%}
            {%- endif -%}
        {%- endfor -%}
        (select {{ selected | join(', ') }} from {{ relation }}) as personal_rows
    {%- endif -%}
{%- endmacro %}


{#- The keyed pseudonym of a value (HMAC-SHA256 of the space-trimmed, lower-cased text, 64 hex digits):
    the same on every engine and in Python (pipelines/privacy/pseudonyms.py). HMAC from SHA-256 and the
    key's pads, which the build puts in the session (DuckDB variables, PostgreSQL settings): the key is
    never in the SQL. Without them the SQL fails rather than hash with no key. -#}
{% macro pseudonym(expression) -%}
    {{ return(adapter.dispatch('pseudonym', 'lms_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__pseudonym(expression) -%}
    sha256(unhex(coalesce(getvariable('lms_pseudonym_opad'), error('no pseudonym key in this session')))
        || unhex(sha256(unhex(getvariable('lms_pseudonym_ipad'))
        || encode(lower(trim(cast({{ expression }} as varchar), ' '))))))
{%- endmacro %}

{% macro postgres__pseudonym(expression) -%}
    encode(sha256(decode(current_setting('lms.pseudonym_opad'), 'hex')
        || sha256(decode(current_setting('lms.pseudonym_ipad'), 'hex')
        || convert_to(lower(trim(' ' from cast({{ expression }} as text))), 'UTF8'))), 'hex')
{%- endmacro %}
