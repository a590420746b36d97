with

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

final as (
    select enrollments.*,
    from enrollments
    qualify row_number() over (
        partition by enrollments.user_id, enrollments.course_family_id
        order by
            enrollments.is_unenrolled,
            enrollments.course_version desc,
            enrollments.enrolled_at desc nulls last,
            enrollments.enrollment_id desc
    ) = 1
)

select * from final
