-- What the sync reports instead of acting (step 0, never a write): invalid roster rows, external
-- ids several LearnUpon users carry, email and username conflicts, groups no LearnUpon group is
-- titled after, invitations not accepted yet, and managers no roster row names (that row itself
-- is applied).
with

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

desired_memberships as (
    select * from {{ ref('sync_desired_memberships') }}
),

new_users as (
    select * from {{ ref('sync_new_users') }}
),

final as (
    select
        'invalid_row:' || roster.row_number as action_key,
        0 as step,
        'invalid_row' as action,
        roster.external_id as external_id,
        cast(null as bigint) as learnupon_user_id,
        roster.email as email,
        roster.first_name as first_name,
        roster.last_name as last_name,
        cast(null as varchar) as group_title,
        roster.invalid_reason as reason,
        roster.row_number as row_number,
    from roster
    where not roster.is_valid

    union all
    select
        'duplicate_external_id:' || users.user_id,
        0,
        'duplicate_external_id',
        users.external_id,
        users.user_id,
        users.email,
        users.first_name,
        users.last_name,
        null,
        users.users_with_external_id || ' LearnUpon users have this external id: none of them is changed',
        null,
    from users
    where users.users_with_external_id > 1

    union all
    select
        conflicts.identifier || '_conflict:' || conflicts.external_id,
        0,
        conflicts.identifier || '_conflict',
        conflicts.external_id,
        matches.user_id,
        matches.email,
        matches.first_name,
        matches.last_name,
        null,
        conflicts.identifier || ' ' || conflicts.value || ' belongs to LearnUpon user ' || conflicts.holder_id
            || case
                when conflicts.identifier = 'username'
                    then coalesce(' (external id ' || conflicts.holder_external_id || ')', ', who has no external id')
                when conflicts.holder_external_id is null then ', who has no external id (never changed by the sync)'
                else ' (external id ' || conflicts.holder_external_id || '); email_conflicts = skip'
            end
            || ': this row is skipped',
        conflicts.row_number,
    from conflicts
    inner join matches on matches.row_number = conflicts.row_number
    where conflicts.resolution = 'conflict'

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
        min(desired_memberships.group_title),
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
        'invited ' || strftime(new_users.invited_at, '%Y-%m-%d') || '; not accepted yet',
        new_users.row_number,
    from new_users
    where new_users.has_pending_invite

    union all
    select
        'unknown_manager:' || roster.external_id,
        0,
        'unknown_manager',
        roster.external_id,
        null,
        roster.email,
        roster.first_name,
        roster.last_name,
        null,
        'manager ' || roster.manager_external_id || ' is not on the roster',
        roster.row_number,
    from roster
    where roster.is_valid
        and roster.manager_external_id is not null
        and not exists (select 1 from roster as managers where managers.external_id = roster.manager_external_id)
)

select * from final
