with

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

final as (
    {% call first_row_per('enrollments.portal, enrollments.user_id, enrollments.course_family_id', 'enrollments.certificate_expires_at desc nulls first, enrollments.completed_at desc nulls last, enrollments.enrollment_id desc') %}
    select enrollments.*
    from enrollments
    where enrollments.is_complete
    {% endcall %}
)

select * from final
