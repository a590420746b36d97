-- stg_best_completions: one row per user and course family they completed, in any version:
-- the completion that keeps the learner compliant longest. A certificate that never expires
-- comes first, then the latest expiry, then the latest completion. compliance_status and
-- certifications_expiring both judge a family by this row, so they cannot disagree.
with

enrollments as (
    select * from staging.stg_enrollments
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
