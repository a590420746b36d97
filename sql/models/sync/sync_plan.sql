-- sync_plan: what the sync does to bring LearnUpon in step with the HR roster.
-- Grain: one row per action_key. Writes (is_write) run in `step` order; the other rows are
-- problems reported instead of acting. The layers it reads (docs/user-sync.md):
--   staging/   the roster normalised (sync_roster, its cells, fields and groups) and the portal's
--              users, custom data, fields, groups and memberships;
--   matching/  each roster row and the user it is matched to (sync_matches: the external id only),
--              emails or usernames another user holds (sync_identifier_conflicts), and the rows
--              the sync acts on (sync_rows_to_apply);
--   actions/   per field (sync_field_changes), per user (sync_new_users, sync_user_actions), per
--              membership (sync_desired_memberships, sync_membership_actions), and the problems
--              reported (sync_reported_problems).
-- Here they are put together, with what the apply needs to find each user when the action runs.
with

actions as (
    select * from {{ ref('sync_user_actions') }}
    union all by name
    select * from {{ ref('sync_membership_actions') }}
    union all by name
    select * from {{ ref('sync_reported_problems') }}
),

portal_groups as (
    select * from {{ ref('sync_groups') }}
),

users as (
    select * from {{ ref('sync_users') }}
),

new_users as (
    select * from {{ ref('sync_new_users') }}
),

releases as (
    select actions.learnupon_user_id as user_id, actions.email as placeholder_email
    from actions
    where actions.action = 'release_email'
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
        coalesce(portal_groups.group_title, actions.group_title) as group_title,
        cast(actions.membership_id as bigint) as membership_id,
        cast(actions.changes as varchar) as changes,
        cast(actions.custom_data as varchar) as custom_data,
        actions.reason as reason,
        cast(actions.row_number as bigint) as roster_row,
        -- the email the user has when the action runs (a released email is the placeholder by then)
        coalesce(releases.placeholder_email, users.email) as current_email,
        users.username as current_username,
        -- what a new user is created or invited with besides the email (username portals)
        new_users.username as username,
    from actions
    left join portal_groups on portal_groups.group_id = actions.group_id
    left join users on users.user_id = actions.learnupon_user_id
    left join releases
        on releases.user_id = actions.learnupon_user_id and actions.action <> 'release_email'
    left join new_users
        on new_users.row_number = actions.row_number and actions.action in ('create', 'invite', 'invite_pending')
)

select * from final
