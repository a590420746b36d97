-- The current LearnUpon users, each with its external id (the mapping's external_id_field) when
-- it has one: the only users the sync ever changes. Seed 001: users without one are never touched.
with

settings as (
    {{ sync_settings() }}
),

users as (
    select * from {{ source('learnupon', 'users') }} as users
    where users._dlt_valid_to is null and {{ sync_portal_rows('users') }}
),

external_ids as (
    select
        user_values.user_id as user_id,
        trim(user_values.value) as external_id,
    from {{ ref('sync_user_values') }} as user_values
    cross join settings
    where user_values.field_key = lower(trim(settings.external_id_field))
        and nullif(trim(user_values.value), '') is not null
),

final as (
    select
        users.id as user_id,
        users.email as email,
        lower(nullif(trim(users.email), '')) as email_key,
        users.username as username,
        lower(nullif(trim(users.username), '')) as username_key,
        users.first_name as first_name,
        users.last_name as last_name,
        coalesce(users.enabled, true) as is_enabled,
        external_ids.external_id as external_id,
        case
            when external_ids.external_id is not null
                then count(*) over (partition by external_ids.external_id)
        end as users_with_external_id,
    from users
    left join external_ids on external_ids.user_id = users.id
)

select * from final
