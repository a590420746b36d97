with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

events as (
    select * from {{ ref('stg_audit_trails') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

-- one user per email: a current account before a deleted one
users_by_email as (
    {% call first_row_per('users.portal, users.email_normalized', 'users.is_deleted, users.user_id desc') %}
    select users.*
    from users
    where users.email_normalized is not null
    {% endcall %}
),

final as (
    select
        events.portal as portal,
        as_of.as_of_date as as_of_date,
        events.event_key as event_key,
        events.occurred_at as occurred_at,
        cast(events.occurred_at at time zone 'UTC' as date) as occurred_date,
        events.action_code as action_code,
        events.action_name as action_name,
        events.is_automated as is_automated,
        coalesce(events.initiated_by_name, 'automated') as initiated_by_name,
        events.initiated_by_email as initiated_by_email,
        initiators.user_id as initiated_by_user_id,
        events.impacted_user_name as impacted_user_name,
        events.impacted_user_email as impacted_user_email,
        impacted.user_id as impacted_user_id,
        events.impacted_data as impacted_data,
        concat_ws(
            ' ',
            coalesce(events.initiated_by_name, 'automated'),
            '-',
            events.action_name,
            case when events.impacted_user_name is not null then '- ' || events.impacted_user_name end,
            case when events.impacted_data is not null then '(' || events.impacted_data || ')' end
        ) as summary
    from events
    cross join as_of
    left join users_by_email as initiators
        on initiators.portal = events.portal
        and initiators.email_normalized = lower(trim(events.initiated_by_email))
    left join users_by_email as impacted
        on impacted.portal = events.portal
        and impacted.email_normalized = lower(trim(events.impacted_user_email))
    where cast(events.occurred_at at time zone 'UTC' as date) <= as_of.as_of_date
)

select * from final
