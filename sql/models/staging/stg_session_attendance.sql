with

source as (
    select * from {{ current_rows(source('learnupon', 'session_attendance')) }}
),

final as (
    {% call first_row_per('source.portal, source.session_id, source.user_id', 'source.pm_id') %}
    select
        source.portal as portal,
        source.session_id as session_id,
        source.user_id as user_id,
        source.pm_id as portal_membership_id,
        source.session_status as session_status_code,
        case source.session_status
            when -10 then 'not_registered'
            when 10 then 'not_started'
            when 20 then 'completed'
            when 30 then 'failed'
            when 40 then 'no_show'
            else coalesce(lower(source.session_status_label), 'unknown')
        end as session_status,
        coalesce(source.session_status, 0) <> -10 as is_registered,
        source.session_status = 40 as is_no_show
    from source
    {% endcall %}
)

select * from final
