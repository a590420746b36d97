with

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

final as (
    select enrollments.*,
    from enrollments
    where enrollments.is_complete
    qualify row_number() over (
        partition by enrollments.user_id, enrollments.course_family_id
        order by
            enrollments.certificate_expires_at desc nulls first,
            enrollments.completed_at desc nulls last,
            enrollments.enrollment_id desc
    ) = 1
)

select * from final
