{#- The user sync's mapping as SQL. pipelines/sync/plan.py passes it as the dbt var `sync`, built
    from the TOML mapping (pipelines/sync/mapping.py declares it, with its defaults, once):
    `settings` (one object), `field_map`, `group_rules` and `managed_groups` (lists of objects).
    Each macro below renders one of them as a relation with typed columns. At parse time, and
    in `dbt docs`, the var is absent and the relations are empty. -#}

{% macro sync_mapping(part) -%}
    {%- do return((var('sync', {}) or {}).get(part)) -%}
{%- endmacro %}

{#- A Python/YAML value as an SQL literal. -#}
{% macro sql_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is sameas true -%}true
    {%- elif value is sameas false -%}false
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ value | string | replace("'", "''") }}'
    {%- endif -%}
{%- endmacro %}

{#- `rows` (objects) as a relation of `columns` ([name, type] pairs); no rows: an empty relation. -#}
{% macro rows_relation(rows, columns) -%}
    {%- if rows -%}
    select * from (values
        {%- for row in rows %}
        ({% for name, kind in columns %}cast({{ sql_literal(row.get(name)) }} as {{ kind }}){{ ", " if not loop.last }}{% endfor %}){{ "," if not loop.last }}
        {%- endfor %}
    ) as mapping_rows ({% for name, kind in columns %}{{ name }}{{ ", " if not loop.last }}{% endfor %})
    {%- else -%}
    select {% for name, kind in columns %}cast(null as {{ kind }}) as {{ name }}{{ ", " if not loop.last }}{% endfor %} where false
    {%- endif -%}
{%- endmacro %}

{#- The rows of the sync's portal: a roster is for one portal (settings.portal, the configured name the raw
    tables' `portal` column holds), and ids repeat across portals. `alias` is the raw relation's alias.
    Without the var (parse time, dbt docs) every row. -#}
{% macro sync_portal_rows(alias) -%}
    {%- set portal = (sync_mapping('settings') or {}).get('portal') -%}
    {%- if portal is not none -%}{{ alias }}.portal = {{ sql_literal(portal) }}{%- else -%}true{%- endif -%}
{%- endmacro %}

{#- One row: the roster's columns (null: not in the roster, or not used) and the policies. -#}
{% macro sync_settings() -%}
    {%- set settings = sync_mapping('settings') -%}
    {{ rows_relation([settings] if settings else [], [
        ['roster_run_id', 'varchar'], ['portal', 'varchar'], ['external_id_field', 'varchar'], ['identify_by', 'varchar'],
        ['external_id_column', 'varchar'], ['email_column', 'varchar'], ['username_column', 'varchar'],
        ['first_name_column', 'varchar'], ['last_name_column', 'varchar'], ['active_column', 'varchar'],
        ['manager_column', 'varchar'], ['leavers', 'varchar'], ['email_conflicts', 'varchar'],
        ['placeholder_domain', 'varchar'], ['new_users', 'varchar'], ['invite_expiry_days', 'integer'],
        ['leave_groups', 'varchar'],
    ]) }}
{%- endmacro %}

{#- Roster column -> LearnUpon custom user field (by name), for the columns the roster has. -#}
{% macro sync_field_map() -%}
    {{ rows_relation(sync_mapping('field_map') or [], [['column_name', 'varchar'], ['field_label', 'varchar']]) }}
{%- endmacro %}

{#- Group rules: a rule without from_value gives the group titled like the value. -#}
{% macro sync_group_rules() -%}
    {{ rows_relation(sync_mapping('group_rules') or [], [
        ['rule_number', 'integer'], ['column_name', 'varchar'], ['from_value', 'varchar'], ['group_title', 'varchar'],
    ]) }}
{%- endmacro %}

{#- Further group titles a rule manages (its `manages`). -#}
{% macro sync_managed_groups() -%}
    {{ rows_relation(sync_mapping('managed_groups') or [], [['rule_number', 'integer'], ['group_title', 'varchar']]) }}
{%- endmacro %}

{#- A raw table a portal may never have filled (no groups, no custom data): the table, or no rows
    with these columns. The model lists it under meta.optional_sources, so a build does not skip
    the model when the table is missing (pipelines/models.py). -#}
{% macro optional_source(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set present = true -%}
    {#- a unit test has no graph of sources: there `relation` is the test's fixture, always present -#}
    {%- if execute and graph.get('sources') -%}
        {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
            | selectattr('name', 'equalto', table_name) | first -%}
        {%- set present = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.identifier) is not none -%}
    {%- endif -%}
    {%- if not present -%}
    ({{ rows_relation([], columns) }})
    {%- else -%}
    {{ relation }}
    {%- endif -%}
{%- endmacro %}
