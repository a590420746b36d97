-- Each valid roster row and the LearnUpon user it is matched to, with the rule that decided it.
-- Seed 001: the external id only, never the email; a user without an external id is never
-- matched (nor changed). An external id several LearnUpon users carry matches none of them.
with

roster as (
    select * from {{ ref('sync_roster') }} as roster
    where roster.is_valid
),

managed_users as (
    -- LearnUpon users with an external id: the only users the sync ever changes
    select * from {{ ref('sync_users') }} as users
    where users.external_id is not null
),

shared_external_ids as (
    select distinct managed_users.external_id as external_id
    from managed_users
    where managed_users.users_with_external_id > 1
),

final as (
    select
        roster.row_number as row_number,
        roster.external_id as external_id,
        case
            when shared_external_ids.external_id is not null then 'ambiguous_external_id'
            when matched_user.user_id is not null then 'external_id'
            else 'new_user'
        end as match_rule,
        matched_user.user_id as user_id,
        roster.is_active as is_active,
        roster.email as email,
        roster.email_key as email_key,
        roster.username as username,
        roster.username_key as username_key,
        roster.first_name as first_name,
        roster.last_name as last_name,
        roster.manager_external_id as manager_external_id,
        matched_user.email as current_email,
        matched_user.email_key as current_email_key,
        matched_user.username as current_username,
        matched_user.username_key as current_username_key,
        matched_user.first_name as current_first_name,
        matched_user.last_name as current_last_name,
        matched_user.is_enabled as is_enabled,
    from roster
    left join managed_users as matched_user
        on matched_user.external_id = roster.external_id and matched_user.users_with_external_id = 1
    left join shared_external_ids on shared_external_ids.external_id = roster.external_id
)

select * from final
