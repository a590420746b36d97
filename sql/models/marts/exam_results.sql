with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

exams as (
    select * from {{ ref('stg_exams') }}
),

exam_courses as (
    select * from {{ ref('int_exam_courses') }}
),

exam_enrollments as (
    select * from {{ ref('stg_exam_enrollments') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

judged as (
    select
        exam_enrollments.*,
        exams.exam_name as exam_name,
        exams.pass_percentage as pass_percentage,
        exams.pass_mark as pass_mark,
        exams.attempts_allowed as attempts_allowed,
        exams.has_unlimited_attempts as has_unlimited_attempts,
        -- the portal's status is the verdict (admins mark passes by hand, thresholds change after
        -- attempts); the comparison with the exam's threshold is kept beside it, as a derivation
        case
            when exam_enrollments.status in ('passed', 'pass') then true
            when exam_enrollments.status in ('failed', 'fail') then false
        end as is_passed_on_portal,
        case
            when exam_enrollments.score is null then null
            when exams.pass_percentage is not null then exam_enrollments.score >= exams.pass_percentage
            when exams.pass_mark is not null then exam_enrollments.score >= exams.pass_mark
        end as meets_pass_threshold
    from exam_enrollments
    left join exams on exams.portal = exam_enrollments.portal and exams.exam_id = exam_enrollments.exam_id
    where not coalesce(exams.is_survey, false)
),

final as (
    select
        judged.portal as portal,
        as_of.as_of_date as as_of_date,
        judged.exam_enrollment_id as exam_enrollment_id,
        judged.exam_id as exam_id,
        judged.exam_name as exam_name,
        exam_courses.course_id as course_id,
        exam_courses.course_name as course_name,
        exam_courses.course_version as course_version,
        exam_courses.course_family_id as course_family_id,
        exam_courses.course_family_name as course_family_name,
        judged.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        judged.status as status,
        judged.score as score,
        judged.pass_percentage as pass_percentage,
        judged.pass_mark as pass_mark,
        judged.is_passed_on_portal as is_passed,
        judged.meets_pass_threshold as meets_pass_threshold,
        case
            when judged.meets_pass_threshold is null then null
            when judged.pass_percentage is not null then 'pass_percentage'
            else 'pass_mark'
        end as pass_threshold_used,
        judged.attempts_used as attempts_used,
        judged.attempts_allowed as attempts_allowed,
        judged.has_unlimited_attempts as has_unlimited_attempts,
        judged.attempts_allowed - judged.attempts_used as attempts_remaining,
        coalesce(judged.attempts_used > judged.attempts_allowed, false) as is_over_attempts_allowed,
        judged.time_taken_minutes as time_taken_minutes,
        judged.completed_at as completed_at,
        cast(judged.completed_at at time zone 'UTC' as date) as completed_date
    from judged
    cross join as_of
    left join exam_courses on exam_courses.portal = judged.portal and exam_courses.exam_id = judged.exam_id
    left join users on users.portal = judged.portal and users.user_id = judged.user_id
    -- deleted users' exam enrollments leave with them (the pipeline retires them); a user row
    -- flagged deleted is left out too, as in every list of people
    where not coalesce(users.is_deleted, false)
)

select * from final
