-- What the sync writes to each LearnUpon user, one row per action: release_email (step 1: a
-- placeholder frees an email the roster gives someone else), create or invite (step 2, or 3 when
-- its email is freed first), update (step 2 or 3: the fields in sync_field_changes), and for
-- leavers disable or delete (step 5, last). A leaver is a user with an external id the roster
-- does not list, or lists only on inactive rows; one already disabled is left alone (unless
-- leavers = delete).
with

settings as (
    {{ sync_settings() }}
),

roster as (
    select * from {{ ref('sync_roster') }}
),

users as (
    select * from {{ ref('sync_users') }}
),

matches as (
    select * from {{ ref('sync_matches') }}
),

conflicts as (
    select * from {{ ref('sync_identifier_conflicts') }}
),

rows_to_apply as (
    select * from {{ ref('sync_rows_to_apply') }}
),

new_users as (
    select * from {{ ref('sync_new_users') }}
),

field_changes as (
    select * from {{ ref('sync_field_changes') }}
),

releases as (
    select distinct
        conflicts.holder_id as user_id,
        conflicts.holder_external_id as external_id,
        conflicts.holder_email as email,
        'lu-' || conflicts.holder_id || '-released@' || lower(trim(settings.placeholder_domain)) as placeholder_email,
        conflicts.external_id as taken_by,
    from conflicts
    cross join settings
    where conflicts.identifier = 'email' and conflicts.resolution = 'placeholder'
),

updates as (
    select
        rows_to_apply.*,
        changed.changes as changes,
        coalesce(changed.custom_data, '[]') as custom_data,
    from rows_to_apply
    inner join (
        select
            field_changes.row_number as row_number,
            -- json_group_object, with the fields in field_order (that macro takes no ORDER BY)
            cast('{' || string_agg(
                to_json(field_changes.field) || ':' || json_object('from', field_changes.from_value, 'to', field_changes.to_value),
                ',' order by field_changes.field_order
            ) || '}' as json) as changes,
            to_json(list({
                'definition_id': field_changes.definition_id, 'label': field_changes.field_label,
                'type_id': field_changes.type_id, 'value': field_changes.to_value
            } order by field_changes.definition_id) filter (where field_changes.definition_id is not null)) as custom_data,
        from field_changes
        group by field_changes.row_number
    ) as changed on changed.row_number = rows_to_apply.row_number
),

leavers as (
    select
        users.*,
        case
            when exists (select 1 from roster where roster.external_id = users.external_id) then 'inactive in the roster'
            else 'not in the roster'
        end as reason,
    from users
    cross join settings
    where users.users_with_external_id = 1
        and (
            not exists (select 1 from roster where roster.external_id = users.external_id)
            or exists (select 1 from matches where matches.external_id = users.external_id and not matches.is_active)
        )
        and (settings.leavers = 'delete' or users.is_enabled)
),

final as (
    select
        'release_email:' || releases.user_id as action_key,
        1 as step,
        'release_email' as action,
        releases.external_id as external_id,
        releases.user_id as learnupon_user_id,
        releases.placeholder_email as email,
        cast(null as varchar) as first_name,
        cast(null as varchar) as last_name,
        json_object('email', json_object('from', releases.email, 'to', releases.placeholder_email)) as changes,
        cast(null as json) as custom_data,
        'frees ' || releases.email || ' for external id ' || releases.taken_by as reason,
        cast(null as bigint) as row_number,
    from releases

    union all
    select
        settings.new_users || ':' || new_users.external_id,
        case when new_users.takes_held_email then 3 else 2 end,
        settings.new_users,
        new_users.external_id,
        null,
        new_users.email,
        new_users.first_name,
        new_users.last_name,
        null,
        new_users.custom_data,
        case when new_users.takes_held_email then 'after its email is freed' end,
        new_users.row_number,
    from new_users
    cross join settings
    where not new_users.has_pending_invite

    union all
    select
        'update:' || updates.external_id,
        case when updates.takes_held_email then 3 else 2 end,
        'update',
        updates.external_id,
        updates.user_id,
        updates.email,
        updates.first_name,
        updates.last_name,
        updates.changes,
        updates.custom_data,
        case when updates.takes_held_email then 'after its email is freed' end,
        updates.row_number,
    from updates

    union all
    select
        settings.leavers || ':' || leavers.external_id,
        5,
        settings.leavers,
        leavers.external_id,
        leavers.user_id,
        leavers.email,
        leavers.first_name,
        leavers.last_name,
        case when settings.leavers = 'disable' then json_object('enabled', json_object('from', 'true', 'to', 'false')) end,
        null,
        leavers.reason,
        null,
    from leavers
    cross join settings
)

select * from final
