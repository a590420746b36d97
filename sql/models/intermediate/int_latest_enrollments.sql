with

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

final as (
    {% call first_row_per('enrollments.portal, enrollments.user_id, enrollments.course_family_id', 'enrollments.is_unenrolled, enrollments.course_version desc, enrollments.enrolled_at desc nulls last, enrollments.enrollment_id desc') %}
    select enrollments.*
    from enrollments
    {% endcall %}
)

select * from final
