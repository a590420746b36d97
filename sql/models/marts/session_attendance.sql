with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

attendance as (
    select * from {{ ref('stg_session_attendance') }}
),

parts as (
    select * from {{ ref('stg_session_attendance_parts') }}
),

sessions as (
    select * from {{ ref('stg_sessions') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

part_marks as (
    select
        parts.portal as portal,
        parts.session_id as session_id,
        parts.user_id as user_id,
        bool_or(parts.attendance_status = 'present') as has_present_mark,
        bool_or(parts.attendance_status = 'absent') as has_absent_mark,
        sum(parts.minutes) as minutes_attended
    from parts
    group by 1, 2, 3
),

stated as (
    select
        attendance.*,
        coalesce(part_marks.has_present_mark, false) as has_present_mark,
        coalesce(part_marks.has_absent_mark, false) as has_absent_mark,
        part_marks.minutes_attended as minutes_attended,
        case
            when not attendance.is_registered then 'not_registered'
            when attendance.is_no_show then 'no_show'
            when part_marks.has_present_mark or attendance.session_status = 'completed' then 'present'
            when part_marks.has_absent_mark then 'absent'
            else 'unmarked'
        end as attendance_state
    from attendance
    left join part_marks
        on part_marks.portal = attendance.portal
        and part_marks.session_id = attendance.session_id
        and part_marks.user_id = attendance.user_id
),

final as (
    select
        stated.portal as portal,
        as_of.as_of_date as as_of_date,
        stated.session_id as session_id,
        sessions.event_id as event_id,
        sessions.course_id as course_id,
        sessions.course_name as course_name,
        sessions.session_title as session_title,
        sessions.starts_at as session_starts_at,
        sessions.session_date as session_date,
        sessions.session_date < as_of.as_of_date as is_session_past,
        stated.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        stated.session_status_code as session_status_code,
        stated.session_status as session_status,
        stated.is_registered as is_registered,
        stated.attendance_state = 'present' as is_present,
        stated.attendance_state = 'absent' as is_absent,
        stated.attendance_state = 'no_show' as is_no_show,
        stated.attendance_state as attendance_state,
        stated.minutes_attended as minutes_attended
    from stated
    cross join as_of
    left join sessions on sessions.portal = stated.portal and sessions.session_id = stated.session_id
    left join users on users.portal = stated.portal and users.user_id = stated.user_id
    -- people deleted on the portal are left out, as in every list of people
    where not coalesce(users.is_deleted, false)
)

select * from final
