-- LearnUpon's custom user fields, with the values each choice field allows: the user listing's
-- definitions may leave them out, so the sync also reads GET /users/customuserdata
-- (sync.field_choices) at every run. predefined_values comes as a JSON list or as comma-separated
-- text (the reference types it "string"); choice_values reads either into a list.
with

definitions as (
    select * from {{ source('learnupon', 'custom_user_fields') }} as fields
    where {{ sync_portal_rows('fields') }}
),

choices as (
    select * from {{ source('sync_journal', 'field_choices') }}
),

final as (
    select
        definitions.id as definition_id,
        definitions.label as field_label,
        lower(trim(definitions.label)) as field_key,
        definitions.type_id as type_id,
        {{ choice_values("coalesce(cast(definitions.predefined_values as varchar), choices.predefined_values)") }}
            as predefined_values,
    from definitions
    left join choices on choices.definition_id = definitions.id
)

select * from final
