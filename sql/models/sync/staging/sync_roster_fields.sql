-- The custom field values each roster row sets (the mapping's [fields]), with the LearnUpon field
-- each goes to and whether LearnUpon would accept the value (its type and choice values).
with

field_map as (
    {{ sync_field_map() }}
),

cells as (
    select * from {{ ref('sync_roster_cells') }}
),

fields as (
    select * from {{ ref('sync_fields') }}
),

mapped as (
    select
        cells.row_number as row_number,
        field_map.column_name as column_name,
        fields.definition_id as definition_id,
        fields.field_label as field_label,
        fields.type_id as type_id,
        fields.predefined_values as predefined_values,
        cells.value as value,
    from cells
    inner join field_map on field_map.column_name = cells.column_name
    inner join fields on fields.field_key = lower(trim(field_map.field_label))
),

final as (
    select
        mapped.*,
        coalesce(
            case mapped.type_id
                when 2 then try_cast(mapped.value as double) is not null
                when 3 then try_cast(mapped.value as bigint) is not null
                when 4 then mapped.predefined_values is null or list_contains(mapped.predefined_values, mapped.value)
                when 5 then try_cast(mapped.value as double) is not null and (mapped.predefined_values is null
                    or list_contains(list_transform(mapped.predefined_values, lambda choice: try_cast(choice as double)),
                        try_cast(mapped.value as double)))
                when 6 then try_cast(mapped.value as bigint) is not null and (mapped.predefined_values is null
                    or list_contains(list_transform(mapped.predefined_values, lambda choice: try_cast(choice as bigint)),
                        try_cast(mapped.value as bigint)))
                when 7 then try_cast(mapped.value as date) is not null
                else true
            end,
            false
        ) as is_accepted,
    from mapped
)

select * from final
