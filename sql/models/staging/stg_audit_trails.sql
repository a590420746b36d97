with

source as (
    select * from {{ current_rows(source('learnupon', 'audit_trails')) }}
),

final as (
    {% call first_row_per('source.portal, source.event_key', 'source.date_and_time_utc') %}
    select
        source.portal as portal,
        source.event_key as event_key,
        source.date_and_time_utc as occurred_at,
        source.action as action_code,
        case source.action
            when 1 then 'Set complete'
            when 2 then 'User unenrolled'
            when 3 then 'User deleted'
            when 4 then 'User login disabled'
            when 5 then 'User login enabled'
            when 6 then 'Course deleted'
            when 7 then 'Course archived'
            when 8 then 'Learning path deleted'
            when 9 then 'Learning path archived'
            when 10 then 'Exam attempts reset'
            when 11 then 'Group deleted'
            when 12 then 'User removed from a group'
            else coalesce(source.action_label, 'Unknown action ' || source.action)
        end as action_name,
        nullif(trim(source.initiated_by_user), '') as initiated_by_name,
        nullif(trim(source.initiated_by_user_email), '') as initiated_by_email,
        nullif(trim(source.impacted_user), '') as impacted_user_name,
        nullif(trim(source.impacted_user_email), '') as impacted_user_email,
        nullif(trim(source.impacted_data), '') as impacted_data,
        nullif(trim(source.initiated_by_user), '') is null
            and nullif(trim(source.initiated_by_user_email), '') is null as is_automated
    from source
    {% endcall %}
)

select * from final
