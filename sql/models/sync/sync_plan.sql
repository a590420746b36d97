-- sync_plan: what the sync does to bring LearnUpon in step with the HR roster.
-- Grain: one row per action_key. Writes (is_write) run in `step` order; the other rows are
-- problems reported instead of acting (invalid roster rows, email or username conflicts,
-- ambiguous external ids, missing groups, pending invitations, managers not in the roster).
-- Rules (seed 001): match on the external id only, never on email; LearnUpon users without one
-- are never touched; blank roster cells change nothing; an email held by another user is freed
-- by that user's own update, or renamed to a placeholder (email_conflicts = placeholder, managed
-- users only), or reported and the row skipped. A username held by another user is reported.
with

settings as (
    {{ sync_settings() }}
),

group_rules as (
    {{ sync_group_rules() }}
),

managed_group_titles as (
    {{ sync_managed_groups() }}
),

roster_rows as (
    select * from {{ ref('sync_roster') }}
),

roster_cells as (
    select * from {{ ref('sync_roster_cells') }}
),

roster_fields as (
    select * from {{ ref('sync_roster_fields') }}
),

fields as (
    select * from {{ ref('sync_fields') }}
),

users as (
    select * from {{ ref('sync_users') }}
),

custom_values as (
    select * from {{ ref('sync_user_values') }}
),

journal as (
    select * from {{ source('sync_journal', 'sync_actions') }}
),

roster as (
    -- the valid rows
    select * from roster_rows where roster_rows.is_valid
),

roster_external_ids as (
    -- every external id the roster names, valid row or not: a person HR still lists is never disabled for a typo
    select distinct roster_rows.external_id as external_id
    from roster_rows
    where roster_rows.external_id is not null
),

managed_users as (
    -- LearnUpon users with an external id: the only users the sync ever changes
    select * from users where users.external_id is not null
),

matched as (
    -- valid roster rows and the one LearnUpon user with their external id, if any
    select
        roster.*,
        managed.user_id as user_id,
        managed.email as current_email,
        managed.email_key as current_email_key,
        managed.username as current_username,
        managed.username_key as current_username_key,
        managed.first_name as current_first_name,
        managed.last_name as current_last_name,
        managed.is_enabled as is_enabled,
    from roster
    left join managed_users as managed on managed.external_id = roster.external_id
    where not exists (
        select 1 from managed_users as twins
        where twins.external_id = roster.external_id and twins.users_with_external_id > 1
    )
),

wanted as (
    select * from matched where matched.is_active
),

email_takers as (
    -- active rows whose email LearnUpon has on another user today
    select
        wanted.row_number as row_number,
        wanted.external_id as external_id,
        wanted.email as email,
        holders.user_id as holder_id,
        holders.email as holder_email,
    from wanted
    inner join users as holders on holders.email_key = wanted.email_key
    where holders.user_id is distinct from wanted.user_id
),

username_takers as (
    -- active rows whose username LearnUpon has on another user today (username portals)
    select
        wanted.row_number as row_number,
        wanted.external_id as external_id,
        wanted.username as username,
        holders.user_id as holder_id,
        holders.external_id as holder_external_id,
    from wanted
    cross join settings
    inner join users as holders on holders.username_key = wanted.username_key
    where settings.identify_by = 'username' and holders.user_id is distinct from wanted.user_id
),

free_movers as (
    -- users whose own email change takes an email nobody holds: they go first and free the old one
    select wanted.user_id as user_id
    from wanted
    where wanted.user_id is not null
        and wanted.email_key is not null
        and wanted.email_key is distinct from wanted.current_email_key
        and not exists (select 1 from email_takers where email_takers.row_number = wanted.row_number)
),

email_resolutions as (
    select
        takers.*,
        holder.external_id as holder_external_id,
        case
            when movers.user_id is not null then 'freed_by_update'
            when holder.user_id is null then 'conflict'
            when settings.email_conflicts = 'placeholder' then 'placeholder'
            else 'conflict'
        end as resolution,
    from email_takers as takers
    left join free_movers as movers on movers.user_id = takers.holder_id
    left join managed_users as holder on holder.user_id = takers.holder_id
    cross join settings
),

actionable as (
    -- active rows the sync acts on; `takes_held_email` waits for the email to be freed first
    select
        wanted.*,
        exists (select 1 from email_resolutions as held where held.row_number = wanted.row_number) as takes_held_email,
    from wanted
    where not exists (
            select 1 from email_resolutions as held
            where held.row_number = wanted.row_number and held.resolution = 'conflict'
        )
        and not exists (select 1 from username_takers where username_takers.row_number = wanted.row_number)
),

releases as (
    select distinct
        resolutions.holder_id as user_id,
        resolutions.holder_external_id as external_id,
        resolutions.holder_email as email,
        'lu-' || resolutions.holder_id || '-released@' || lower(trim(settings.placeholder_domain)) as placeholder_email,
        resolutions.external_id as taken_by,
    from email_resolutions as resolutions
    cross join settings
    where resolutions.resolution = 'placeholder'
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
        rows.row_number as row_number,
        to_json(list({
            'definition_id': rows.definition_id, 'label': rows.field_label, 'type_id': rows.type_id, 'value': rows.value
        } order by rows.definition_id)) as custom_data,
    from (
        select roster_fields.row_number, roster_fields.definition_id, roster_fields.field_label, roster_fields.type_id, roster_fields.value
        from roster_fields
        where roster_fields.definition_id <> (select id_field.definition_id from id_field)
        union all
        select actionable.row_number, id_field.definition_id, id_field.field_label, id_field.type_id, actionable.external_id
        from actionable
        cross join id_field
        where actionable.user_id is null
    ) as rows
    group by rows.row_number
),

pending_invites as (
    select
        journal.external_id as external_id,
        max(journal.finished_at) as invited_at,
    from journal
    where journal.action = 'invite' and journal.status = 'succeeded'
    group by journal.external_id
),

new_users as (
    select
        actionable.*,
        pending_invites.invited_at as invited_at,
        settings.new_users = 'invite' and pending_invites.invited_at is not null
            and pending_invites.invited_at > now() - to_days(settings.invite_expiry_days) as has_pending_invite,
    from actionable
    cross join settings
    left join pending_invites on pending_invites.external_id = actionable.external_id
    where actionable.user_id is null
),

user_changes as (
    -- LearnUpon fields that differ from the roster (blank roster cells change nothing)
    select actionable.row_number, 'first_name' as field, actionable.current_first_name as from_value, actionable.first_name as to_value
    from actionable
    where actionable.user_id is not null and actionable.first_name is not null
        and actionable.first_name is distinct from actionable.current_first_name
    union all
    select actionable.row_number, 'last_name', actionable.current_last_name, actionable.last_name
    from actionable
    where actionable.user_id is not null and actionable.last_name is not null
        and actionable.last_name is distinct from actionable.current_last_name
    union all
    select actionable.row_number, 'email', actionable.current_email, actionable.email
    from actionable
    where actionable.user_id is not null and actionable.email is not null
        and actionable.email_key is distinct from actionable.current_email_key
    union all
    select actionable.row_number, 'username', actionable.current_username, actionable.username
    from actionable
    cross join settings
    where settings.identify_by = 'username' and actionable.user_id is not null and actionable.username is not null
        and actionable.username_key is distinct from actionable.current_username_key
    union all
    select actionable.row_number, 'enabled', 'false', 'true'
    from actionable
    where actionable.user_id is not null and not actionable.is_enabled
),

custom_changes as (
    select
        actionable.row_number as row_number,
        roster_fields.definition_id as definition_id,
        roster_fields.field_label as field_label,
        roster_fields.type_id as type_id,
        current_values.value as from_value,
        roster_fields.value as to_value,
    from actionable
    inner join roster_fields on roster_fields.row_number = actionable.row_number
    left join custom_values as current_values
        on current_values.user_id = actionable.user_id and current_values.definition_id = roster_fields.definition_id
    where actionable.user_id is not null
        and not coalesce(
            case
                when roster_fields.type_id in (2, 3, 5, 6)
                    then try_cast(current_values.value as double) = try_cast(roster_fields.value as double)
                when roster_fields.type_id = 7
                    then try_cast(current_values.value as date) = try_cast(roster_fields.value as date)
                else current_values.value = roster_fields.value
            end,
            false
        )
),

updates as (
    select
        actionable.*,
        changes.changes as changes,
        coalesce(custom.custom_data, '[]') as custom_data,
    from actionable
    inner join (
        select all_changes.row_number, json_group_object(all_changes.field, json_object('from', all_changes.from_value, 'to', all_changes.to_value)) as changes,
        from (
            select user_changes.row_number, user_changes.field, user_changes.from_value, user_changes.to_value from user_changes
            union all
            select custom_changes.row_number, 'CustomData.' || custom_changes.field_label, custom_changes.from_value, custom_changes.to_value
            from custom_changes
        ) as all_changes
        group by all_changes.row_number
    ) as changes on changes.row_number = actionable.row_number
    left join (
        select
            custom_changes.row_number,
            to_json(list({
                'definition_id': custom_changes.definition_id, 'label': custom_changes.field_label,
                'type_id': custom_changes.type_id, 'value': custom_changes.to_value
            } order by custom_changes.definition_id)) as custom_data,
        from custom_changes
        group by custom_changes.row_number
    ) as custom on custom.row_number = actionable.row_number
),

all_groups as (
    select *
    from {{ optional_source('learnupon', 'groups', [['id', 'bigint'], ['title', 'varchar'], ['_dlt_load_id', 'varchar']]) }} as raw
),

current_groups as (
    -- groups on the portal at the last groups load (a deleted group keeps an older _dlt_load_id)
    select
        all_groups.id as group_id,
        all_groups.title as group_title,
        lower(trim(all_groups.title)) as title_key,
    from all_groups
    where all_groups._dlt_load_id = (select max(latest._dlt_load_id) from all_groups as latest)
    qualify row_number() over (partition by lower(trim(all_groups.title)) order by all_groups.id) = 1
),

rule_titles as (
    -- the group each roster value leads to under the mapping's rules
    select distinct
        roster_cells.row_number as row_number,
        group_rules.rule_number as rule_number,
        coalesce(group_rules.group_title, roster_cells.value) as group_title,
    from roster_cells
    inner join group_rules
        on group_rules.column_name = roster_cells.column_name
        and (group_rules.from_value is null or lower(group_rules.from_value) = lower(roster_cells.value))
),

rules_with_a_value as (
    -- (row, rule) where the row has a value in the rule's column: a blank cell ends no membership
    select distinct roster_cells.row_number as row_number, group_rules.rule_number as rule_number
    from roster_cells
    inner join group_rules on group_rules.column_name = roster_cells.column_name
),

desired_memberships as (
    select distinct
        actionable.row_number as row_number,
        actionable.external_id as external_id,
        actionable.user_id as user_id,
        rule_titles.group_title as group_title,
        current_groups.group_id as group_id,
    from actionable
    inner join rule_titles on rule_titles.row_number = actionable.row_number
    left join current_groups on current_groups.title_key = lower(trim(rule_titles.group_title))
),

memberships as (
    select
        current_memberships.group_id as group_id,
        current_memberships.user_id as user_id,
        current_memberships.membership_id as membership_id,
    from {{ optional_source('learnupon', 'group_memberships', [
        ['group_id', 'bigint'], ['user_id', 'bigint'], ['membership_id', 'bigint'], ['_dlt_valid_to', 'timestamptz'],
    ]) }} as current_memberships
    where current_memberships._dlt_valid_to is null
),

joined_by_sync as (
    select distinct journal.external_id as external_id, journal.group_id as group_id
    from journal
    where journal.action = 'join_group' and journal.status = 'succeeded'
),

managed_groups as (
    -- per rule, the groups it manages: every title it gives a roster value, the titles listed in its
    -- `manages`, and (for every rule) each group the sync has put someone in
    select distinct titles.rule_number as rule_number, current_groups.group_id as group_id
    from (
        select rule_titles.rule_number, rule_titles.group_title from rule_titles
        union all
        select managed_group_titles.rule_number, managed_group_titles.group_title from managed_group_titles
    ) as titles
    inner join current_groups on current_groups.title_key = lower(trim(titles.group_title))
    union
    select rules.rule_number, joined_by_sync.group_id
    from joined_by_sync
    cross join (select distinct group_rules.rule_number from group_rules) as rules
),

joins as (
    select distinct desired_memberships.row_number, desired_memberships.external_id, desired_memberships.user_id, desired_memberships.group_id
    from desired_memberships
    cross join settings
    where desired_memberships.group_id is not null
        and not exists (
            select 1 from memberships
            where memberships.user_id = desired_memberships.user_id and memberships.group_id = desired_memberships.group_id
        )
        and not (settings.new_users = 'invite' and desired_memberships.user_id is null)
),

leaves as (
    select distinct
        actionable.row_number as row_number,
        actionable.external_id as external_id,
        actionable.user_id as user_id,
        memberships.group_id as group_id,
        memberships.membership_id as membership_id,
    from actionable
    inner join memberships on memberships.user_id = actionable.user_id
    inner join rules_with_a_value on rules_with_a_value.row_number = actionable.row_number
    inner join managed_groups
        on managed_groups.rule_number = rules_with_a_value.rule_number and managed_groups.group_id = memberships.group_id
    cross join settings
    where not exists (
            select 1 from desired_memberships
            where desired_memberships.row_number = actionable.row_number and desired_memberships.group_id = memberships.group_id
        )
        and (
            settings.leave_groups = 'managed'
            or exists (
                select 1 from joined_by_sync
                where joined_by_sync.external_id = actionable.external_id and joined_by_sync.group_id = memberships.group_id
            )
        )
),

leavers as (
    select
        managed.*,
        case
            when exists (select 1 from roster_external_ids where roster_external_ids.external_id = managed.external_id)
                then 'inactive in the roster'
            else 'not in the roster'
        end as reason,
    from managed_users as managed
    cross join settings
    where managed.users_with_external_id = 1
        and (
            not exists (select 1 from roster_external_ids where roster_external_ids.external_id = managed.external_id)
            or exists (select 1 from matched where matched.external_id = managed.external_id and not matched.is_active)
        )
        and (settings.leavers = 'delete' or managed.is_enabled)
),

unknown_managers as (
    -- a valid row whose manager is no one on the roster: reported (the row itself is applied)
    select roster.*
    from roster
    where roster.manager_external_id is not null
        and not exists (select 1 from roster_external_ids where roster_external_ids.external_id = roster.manager_external_id)
),

actions as (
    select
        'release_email:' || releases.user_id as action_key,
        1 as step,
        'release_email' as action,
        releases.external_id as external_id,
        releases.user_id as learnupon_user_id,
        releases.placeholder_email as email,
        null as first_name,
        null as last_name,
        null as group_id,
        null as group_title,
        null as membership_id,
        json_object('email', json_object('from', releases.email, 'to', releases.placeholder_email)) as changes,
        null as custom_data,
        'frees ' || releases.email || ' for external id ' || releases.taken_by as reason,
        null as row_number,
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
        null,
        null,
        null,
        new_user_data.custom_data,
        case when new_users.takes_held_email then 'after its email is freed' end,
        new_users.row_number,
    from new_users
    cross join settings
    left join new_user_data on new_user_data.row_number = new_users.row_number
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
        null,
        null,
        null,
        updates.changes,
        updates.custom_data,
        case when updates.takes_held_email then 'after its email is freed' end,
        updates.row_number,
    from updates

    union all
    select
        'join_group:' || joins.external_id || ':' || joins.group_id,
        4,
        'join_group',
        joins.external_id,
        joins.user_id,
        null,
        null,
        null,
        joins.group_id,
        null,
        null,
        null,
        null,
        null,
        joins.row_number,
    from joins

    union all
    select
        'leave_group:' || leaves.external_id || ':' || leaves.group_id,
        4,
        'leave_group',
        leaves.external_id,
        leaves.user_id,
        null,
        null,
        null,
        leaves.group_id,
        null,
        leaves.membership_id,
        null,
        null,
        null,
        leaves.row_number,
    from leaves

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
        null,
        null,
        null,
        case when settings.leavers = 'disable' then json_object('enabled', json_object('from', 'true', 'to', 'false')) end,
        null,
        leavers.reason,
        null,
    from leavers
    cross join settings

    union all
    select
        'invalid_row:' || roster_rows.row_number,
        0,
        'invalid_row',
        roster_rows.external_id,
        null,
        roster_rows.email,
        roster_rows.first_name,
        roster_rows.last_name,
        null,
        null,
        null,
        null,
        null,
        roster_rows.invalid_reason,
        roster_rows.row_number,
    from roster_rows
    where not roster_rows.is_valid

    union all
    select
        'duplicate_external_id:' || managed_users.user_id,
        0,
        'duplicate_external_id',
        managed_users.external_id,
        managed_users.user_id,
        managed_users.email,
        managed_users.first_name,
        managed_users.last_name,
        null,
        null,
        null,
        null,
        null,
        managed_users.users_with_external_id || ' LearnUpon users have this external id: none of them is changed',
        null,
    from managed_users
    where managed_users.users_with_external_id > 1

    union all
    select
        'email_conflict:' || conflicts.external_id,
        0,
        'email_conflict',
        conflicts.external_id,
        matched.user_id,
        conflicts.email,
        matched.first_name,
        matched.last_name,
        null,
        null,
        null,
        null,
        null,
        'email ' || conflicts.email || ' belongs to LearnUpon user ' || conflicts.holder_id
            || case
                when conflicts.holder_external_id is null then ', who has no external id (never changed by the sync)'
                else ' (external id ' || conflicts.holder_external_id || '); email_conflicts = skip'
            end
            || ': this row is skipped',
        conflicts.row_number,
    from email_resolutions as conflicts
    inner join matched on matched.row_number = conflicts.row_number
    where conflicts.resolution = 'conflict'

    union all
    select
        'username_conflict:' || conflicts.external_id,
        0,
        'username_conflict',
        conflicts.external_id,
        matched.user_id,
        matched.email,
        matched.first_name,
        matched.last_name,
        null,
        null,
        null,
        null,
        null,
        'username ' || conflicts.username || ' belongs to LearnUpon user ' || conflicts.holder_id
            || coalesce(' (external id ' || conflicts.holder_external_id || ')', ', who has no external id')
            || ': this row is skipped',
        conflicts.row_number,
    from username_takers as conflicts
    inner join matched on matched.row_number = conflicts.row_number

    union all
    select
        'missing_group:' || lower(trim(desired_memberships.group_title)),
        0,
        'missing_group',
        null,
        null,
        null,
        null,
        null,
        null,
        min(desired_memberships.group_title),
        null,
        null,
        null,
        'no group titled ' || min(desired_memberships.group_title) || ' in LearnUpon ('
            || count(distinct desired_memberships.external_id)
            || case when count(distinct desired_memberships.external_id) = 1 then ' roster row wants' else ' roster rows want' end
            || ' it): create it or change the mapping',
        null,
    from desired_memberships
    where desired_memberships.group_id is null
    group by lower(trim(desired_memberships.group_title))

    union all
    select
        'invite_pending:' || new_users.external_id,
        0,
        'invite_pending',
        new_users.external_id,
        null,
        new_users.email,
        new_users.first_name,
        new_users.last_name,
        null,
        null,
        null,
        null,
        null,
        'invited ' || strftime(new_users.invited_at, '%Y-%m-%d') || '; not accepted yet',
        new_users.row_number,
    from new_users
    where new_users.has_pending_invite

    union all
    select
        'unknown_manager:' || unknown_managers.external_id,
        0,
        'unknown_manager',
        unknown_managers.external_id,
        null,
        unknown_managers.email,
        unknown_managers.first_name,
        unknown_managers.last_name,
        null,
        null,
        null,
        null,
        null,
        'manager ' || unknown_managers.manager_external_id || ' is not on the roster',
        unknown_managers.row_number,
    from unknown_managers
),

final as (
    select
        actions.action_key as action_key,
        actions.step as step,
        actions.action as action,
        actions.action in (
            'release_email', 'create', 'invite', 'update', 'join_group', 'leave_group', 'disable', 'delete'
        ) as is_write,
        actions.external_id as external_id,
        cast(actions.learnupon_user_id as bigint) as learnupon_user_id,
        actions.email as email,
        actions.first_name as first_name,
        actions.last_name as last_name,
        cast(actions.group_id as bigint) as group_id,
        coalesce(current_groups.group_title, actions.group_title) as group_title,
        cast(actions.membership_id as bigint) as membership_id,
        cast(actions.changes as varchar) as changes,
        cast(actions.custom_data as varchar) as custom_data,
        actions.reason as reason,
        cast(actions.row_number as bigint) as roster_row,
        -- the email the user has when the action runs (a released email is the placeholder by then)
        coalesce(released.placeholder_email, users.email) as current_email,
        users.username as current_username,
        -- what a new user is created or invited with besides the email (username portals)
        new_users.username as username,
    from actions
    left join current_groups on current_groups.group_id = actions.group_id
    left join users on users.user_id = actions.learnupon_user_id
    left join releases as released
        on released.user_id = actions.learnupon_user_id and actions.action <> 'release_email'
    left join new_users
        on new_users.row_number = actions.row_number and actions.action in ('create', 'invite', 'invite_pending')
)

select * from final
