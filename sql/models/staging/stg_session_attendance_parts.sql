with

source as (
    select * from {{ current_rows(source('learnupon', 'session_attendance_parts')) }}
),

final as (
    {% call first_row_per('source.portal, source.session_id, source.user_id, source.part', 'source.status') %}
    select
        source.portal as portal,
        source.session_id as session_id,
        source.user_id as user_id,
        source.part as part_id,
        source.status as attendance_code,
        case source.status
            when 0 then 'unmarked'
            when 5 then 'absent'
            when 10 then 'present'
            else coalesce(lower(source.status_label), 'unknown')
        end as attendance_status,
        source.minutes as minutes
    from source
    {% endcall %}
)

select * from final
