-- exam_results: one row per learner enrollment on an exam (surveys excluded), as of
-- getvariable('as_of'): status, score against the pass mark, attempts and whether it passed.
with

as_of as (
    select coalesce(getvariable('as_of'), cast(now() at time zone 'UTC' as date)) as as_of_date
),

exams as (
    select * from staging.stg_exams
),

exam_enrollments as (
    select * from staging.stg_exam_enrollments
),

users as (
    select * from staging.stg_users
),

final as (
    select
        as_of.as_of_date as as_of_date,
        exam_enrollments.exam_enrollment_id as exam_enrollment_id,
        exam_enrollments.exam_id as exam_id,
        exams.exam_name as exam_name,
        exam_enrollments.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        coalesce(users.is_deleted, false) as is_user_deleted,
        exam_enrollments.status as status,
        exam_enrollments.score as score,
        exams.pass_percentage as pass_percentage,
        exams.pass_mark as pass_mark,
        -- the status says it; without one, compare the score with the pass percentage
        case
            when exam_enrollments.status in ('passed', 'pass') then true
            when exam_enrollments.status in ('failed', 'fail') then false
            when exam_enrollments.score is not null and exams.pass_percentage is not null
                then exam_enrollments.score >= exams.pass_percentage
        end as is_passed,
        exam_enrollments.attempts_used as attempts_used,
        exams.attempts_allowed as attempts_allowed,
        exam_enrollments.time_taken_minutes as time_taken_minutes,
        exam_enrollments.completed_at as completed_at,
        cast(exam_enrollments.completed_at at time zone 'UTC' as date) as completed_date,
    from exam_enrollments
    cross join as_of
    left join exams on exams.exam_id = exam_enrollments.exam_id
    left join users on users.user_id = exam_enrollments.user_id
    where not coalesce(exams.is_survey, false)
)

select * from final
