{#- A custom field's predefined_values, as text in any documented shape, as a list of text values.
    The reference types the attribute "string" and shows a choice list as `"Monday","Tuesday"`,
    `1.00, 2.00, 3.00` or `1,2,3,4,5`; portals also send a JSON list (`["Account Manager"]`), or
    the sync's journal keeps a JSON string of the text. So: a JSON array as it is; a JSON string
    is unwrapped first; text that reads as a JSON array once bracketed (quoted or numeric items) is
    read that way; anything else is split on commas, each value trimmed. Blank: no list. -#}
{% macro choice_values(expression) -%}
    {%- set raw = "nullif(trim(cast(" ~ expression ~ " as varchar)), '')" -%}
    {%- set text = "(case when json_valid(" ~ raw ~ ") and json_type(" ~ raw ~ ") = 'VARCHAR' then nullif(trim(json_extract_string(" ~ raw ~ ", '$')), '') else " ~ raw ~ " end)" -%}
    case
        when {{ raw }} is null then null
        when json_valid({{ raw }}) and json_type({{ raw }}) = 'ARRAY' then from_json({{ raw }}, '["VARCHAR"]')
        when json_valid({{ raw }}) and json_type({{ raw }}) = 'NULL' then null
        when {{ text }} is null then null
        when json_valid('[' || {{ text }} || ']') then from_json('[' || {{ text }} || ']', '["VARCHAR"]')
        else list_transform(string_split({{ text }}, ','), lambda value: trim(value))
    end
{%- endmacro %}
