with

source as (
    select * from {{ current_rows(source('learnupon', 'exam_enrollments')) }}
),

final as (
    {% call first_row_per('source.portal, source.exam_enrollment_id', 'source.date_completed desc nulls last') %}
    select
        source.portal as portal,
        source.exam_enrollment_id as exam_enrollment_id,
        source.exam_id as exam_id,
        source.user_id as user_id,
        source.portal_membership_id as portal_membership_id,
        -- the API capitalises it ("Passed")
        lower(trim(source.status)) as status,
        source.attempts_used as attempts_used,
        source.time_taken as time_taken_minutes,
        source.score as score,
        source.date_completed as completed_at
    from source
    {% endcall %}
)

select * from final
