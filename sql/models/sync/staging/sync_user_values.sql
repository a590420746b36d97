-- The current custom data of LearnUpon users, one row per user and field; a one-element list (a
-- choice field reads back that way) reads as its element.
with

data as (
    select *
    from {{ optional_source('learnupon', 'user_custom_data', [
        ['portal', 'varchar'], ['user_id', 'bigint'], ['definition_id', 'bigint'], ['label', 'varchar'], ['value', 'varchar'],
        ['_dlt_valid_to', 'timestamptz'],
    ]) }} as raw
    where raw._dlt_valid_to is null and {{ sync_portal_rows('raw') }}
),

fields as (
    select * from {{ ref('sync_fields') }}
),

final as (
    select
        data.user_id as user_id,
        fields.definition_id as definition_id,
        fields.field_key as field_key,
        case
            when json_valid(data.value) and json_type(data.value) = 'ARRAY' and json_array_length(data.value) = 1
                then json_extract_string(data.value, '$[0]')
            else data.value
        end as value,
    from data
    inner join fields
        on fields.definition_id = data.definition_id
        or (data.definition_id is null and lower(trim(data.label)) = fields.field_key)
)

select * from final
