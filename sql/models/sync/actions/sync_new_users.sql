-- The roster rows whose person LearnUpon does not have yet: created (or invited, new_users =
-- invite) with the mapped custom fields and the external id, unless an invitation the sync sent
-- within invite_expiry_days has not been accepted yet (reported as invite_pending).
with

settings as (
    {{ sync_settings() }}
),

new_rows as (
    select * from {{ ref('sync_rows_to_apply') }} as rows_to_apply
    where rows_to_apply.user_id is null
),

roster_fields as (
    select * from {{ ref('sync_roster_fields') }}
),

fields as (
    select * from {{ ref('sync_fields') }}
),

journal as (
    select * from {{ source('sync_journal', 'sync_actions') }}
),

id_field as (
    select fields.*
    from fields
    cross join settings
    where fields.field_key = lower(trim(settings.external_id_field))
),

new_user_data as (
    -- what a new user is created with: the mapped fields and the external id
    select
        data.row_number as row_number,
        to_json(list({
            'definition_id': data.definition_id, 'label': data.field_label, 'type_id': data.type_id, 'value': data.value
        } order by data.definition_id)) as custom_data,
    from (
        select roster_fields.row_number, roster_fields.definition_id, roster_fields.field_label, roster_fields.type_id, roster_fields.value
        from roster_fields
        inner join new_rows on new_rows.row_number = roster_fields.row_number
        where roster_fields.definition_id <> (select id_field.definition_id from id_field)
        union all
        select new_rows.row_number, id_field.definition_id, id_field.field_label, id_field.type_id, new_rows.external_id
        from new_rows
        cross join id_field
    ) as data
    group by data.row_number
),

invitations as (
    select
        journal.external_id as external_id,
        max(journal.finished_at) as invited_at,
    from journal
    where journal.action = 'invite' and journal.status = 'succeeded'
    group by journal.external_id
),

final as (
    select
        new_rows.row_number as row_number,
        new_rows.external_id as external_id,
        new_rows.email as email,
        new_rows.username as username,
        new_rows.first_name as first_name,
        new_rows.last_name as last_name,
        new_rows.takes_held_email as takes_held_email,
        new_user_data.custom_data as custom_data,
        invitations.invited_at as invited_at,
        settings.new_users = 'invite' and invitations.invited_at is not null
            and invitations.invited_at > now() - to_days(settings.invite_expiry_days) as has_pending_invite,
    from new_rows
    cross join settings
    left join invitations on invitations.external_id = new_rows.external_id
    left join new_user_data on new_user_data.row_number = new_rows.row_number
)

select * from final
