-- compliance_status: one row per user and required course family, as of getvariable('as_of').
-- A family (all versions of a course) is required for a user when one of its versions is
-- linked through group_courses to one of the user's current groups, or when the user has an
-- enrollment in the family with a due date. compliance_state, checked in this order:
--   compliant    a completed/passed enrollment in ANY version of the family whose certificate
--                has not expired (an older version counts)
--   expired      completed, but every certificate in the family has expired
--   overdue      not complete and the due date is before the as-of date
--   due_soon     not complete and due within 30 days
--   not_started  not complete, no due date within 30 days (latest_status says how far along)
-- Deleted users keep their rows, flagged with is_user_deleted.
with

as_of as (
    select coalesce(getvariable('as_of'), cast(now() at time zone 'UTC' as date)) as as_of_date
),

users as (
    select * from staging.stg_users
),

courses as (
    select * from staging.stg_courses
),

enrollments as (
    select * from staging.stg_enrollments
),

memberships as (
    select * from staging.stg_group_memberships
),

group_courses as (
    select * from staging.stg_group_courses
),

groups as (
    select * from staging.stg_groups
),

required_by_group as (
    select
        memberships.user_id as user_id,
        coalesce(courses.course_family_id, group_courses.course_id) as course_family_id,
        string_agg(
            distinct coalesce(groups.group_title, group_courses.group_title, cast(memberships.group_id as varchar)),
            ', '
        ) as required_by_groups,
    from memberships
    inner join group_courses on group_courses.group_id = memberships.group_id
    left join courses on courses.course_id = group_courses.course_id
    left join groups on groups.group_id = memberships.group_id
    group by 1, 2
),

required_by_due_date as (
    select distinct
        enrollments.user_id as user_id,
        enrollments.course_family_id as course_family_id,
    from enrollments
    where enrollments.due_at is not null
        and not enrollments.is_unenrolled
),

required as (
    select
        coalesce(required_by_group.user_id, required_by_due_date.user_id) as user_id,
        coalesce(required_by_group.course_family_id, required_by_due_date.course_family_id) as course_family_id,
        required_by_group.user_id is not null as is_required_by_group,
        required_by_due_date.user_id is not null as has_due_date,
        required_by_group.required_by_groups as required_by_groups,
    from required_by_group
    full outer join required_by_due_date
        on required_by_due_date.user_id = required_by_group.user_id
        and required_by_due_date.course_family_id = required_by_group.course_family_id
),

families as (
    select distinct
        courses.course_family_id as course_family_id,
        courses.course_family_name as course_family_name,
    from courses
    union
    select distinct
        enrollments.course_family_id,
        enrollments.course_family_name,
    from enrollments
    where enrollments.course_family_id not in (select courses.course_family_id from courses)
),

-- the enrollment on the newest version the learner is on (unenrolled ones last)
latest_enrollment as (
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
),

-- per user and family, the completion that keeps them compliant longest (see the staging model)
best_completion as (
    select * from staging.stg_best_completions
),

-- the due date that applies: the newest enrollment that carries one
due_enrollment as (
    select enrollments.*,
    from enrollments
    where enrollments.due_at is not null
        and not enrollments.is_unenrolled
    qualify row_number() over (
        partition by enrollments.user_id, enrollments.course_family_id
        order by
            enrollments.course_version desc,
            enrollments.enrolled_at desc nulls last,
            enrollments.enrollment_id desc
    ) = 1
),

joined as (
    select
        as_of.as_of_date as as_of_date,
        required.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        coalesce(users.is_deleted, false) as is_user_deleted,
        users.deleted_at as user_deleted_at,
        required.course_family_id as course_family_id,
        coalesce(families.course_family_name, latest_enrollment.course_family_name) as course_family_name,
        required.is_required_by_group as is_required_by_group,
        required.required_by_groups as required_by_groups,
        required.has_due_date as has_due_date,
        latest_enrollment.enrollment_id as latest_enrollment_id,
        latest_enrollment.course_id as latest_course_id,
        latest_enrollment.course_version as latest_course_version,
        coalesce(latest_enrollment.status, 'not_enrolled') as latest_status,
        cast(latest_enrollment.enrolled_at at time zone 'UTC' as date) as enrolled_date,
        cast(latest_enrollment.started_at at time zone 'UTC' as date) as started_date,
        best_completion.enrollment_id as completed_enrollment_id,
        best_completion.course_version as completed_course_version,
        cast(best_completion.completed_at at time zone 'UTC' as date) as completed_date,
        cast(due_enrollment.due_at at time zone 'UTC' as date) as due_date,
        best_completion.certificate_name as certificate_name,
        cast(best_completion.certificate_expires_at at time zone 'UTC' as date) as certificate_expires_date,
        best_completion.enrollment_id is not null as has_completed,
    from required
    cross join as_of
    left join users on users.user_id = required.user_id
    left join families on families.course_family_id = required.course_family_id
    left join latest_enrollment
        on latest_enrollment.user_id = required.user_id
        and latest_enrollment.course_family_id = required.course_family_id
    left join best_completion
        on best_completion.user_id = required.user_id
        and best_completion.course_family_id = required.course_family_id
    left join due_enrollment
        on due_enrollment.user_id = required.user_id
        and due_enrollment.course_family_id = required.course_family_id
),

stated as (
    select
        joined.*,
        joined.has_completed
            and coalesce(joined.certificate_expires_date < joined.as_of_date, false) as is_certificate_expired,
        case
            when joined.has_completed
                and coalesce(joined.certificate_expires_date >= joined.as_of_date, true) then 'compliant'
            when joined.has_completed then 'expired'
            when joined.due_date < joined.as_of_date then 'overdue'
            when joined.due_date <= joined.as_of_date + 30 then 'due_soon'
            else 'not_started'
        end as compliance_state,
    from joined
),

final as (
    select
        stated.as_of_date,
        stated.user_id,
        stated.user_full_name,
        stated.user_email,
        stated.is_user_deleted,
        stated.user_deleted_at,
        stated.course_family_id,
        stated.course_family_name,
        stated.is_required_by_group,
        stated.required_by_groups,
        stated.has_due_date,
        stated.latest_enrollment_id,
        stated.latest_course_id,
        stated.latest_course_version,
        stated.latest_status,
        stated.enrolled_date,
        stated.started_date,
        stated.completed_enrollment_id,
        stated.completed_course_version,
        stated.completed_date,
        stated.due_date,
        case when not stated.has_completed then stated.due_date - stated.as_of_date end as days_until_due,
        stated.compliance_state = 'overdue' as is_overdue,
        case when stated.compliance_state = 'overdue' then stated.as_of_date - stated.due_date end as days_overdue,
        stated.certificate_name,
        stated.certificate_expires_date,
        stated.is_certificate_expired,
        stated.compliance_state,
    from stated
)

select * from final
