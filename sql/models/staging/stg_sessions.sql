with

source as (
    select * from {{ current_rows(source('learnupon', 'sessions')) }}
),

final as (
    {% call first_row_per('source.portal, source.session_id', 'source.created_at desc nulls last') %}
    select
        source.portal as portal,
        source.session_id as session_id,
        source.event_id as event_id,
        source.course_id as course_id,
        source.course_name as course_name,
        source.component_title as event_title,
        coalesce(source.session_title, source.component_title) as session_title,
        lower(source.session_type) as session_type,
        source.start_date as starts_at,
        source.end_date as ends_at,
        cast(source.start_date at time zone 'UTC' as date) as session_date,
        source.timezone as timezone,
        source.location_id as location_id,
        source.location_title as location_title,
        source.instructor_name as instructor_name,
        source.max_capacity as max_capacity,
        source.min_capacity as min_capacity,
        source.num_enrolled as enrolled_count,
        source.number_of_attendees as attendees_count,
        source.completion_requirement as completion_requirement,
        source.minimum_attendance_threshold as minimum_attendance_threshold,
        source.created_at as created_at
    from source
    {% endcall %}
)

select * from final
