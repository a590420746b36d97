with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

required as (
    select * from {{ ref('int_required_training') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

courses as (
    select * from {{ ref('stg_courses') }}
),

latest_enrollment as (
    select * from {{ ref('int_latest_enrollments') }}
),

-- per user and family, the completion that keeps them compliant longest
best_completion as (
    select * from {{ ref('int_best_completions') }}
),

families as (
    select distinct
        courses.portal as portal,
        courses.course_family_id as course_family_id,
        courses.course_family_name as course_family_name
    from courses
),

joined as (
    select
        required.portal as portal,
        as_of.as_of_date as as_of_date,
        required.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        required.course_family_id as course_family_id,
        coalesce(families.course_family_name, latest_enrollment.course_family_name) as course_family_name,
        required.is_required_by_group as is_required_by_group,
        required.required_by_group_ids as required_by_group_ids,
        required.required_by_groups as required_by_groups,
        required.has_due_date as has_due_date,
        latest_enrollment.enrollment_id as latest_enrollment_id,
        latest_enrollment.course_id as latest_course_id,
        latest_enrollment.course_name as latest_course_name,
        latest_enrollment.course_version as latest_course_version,
        coalesce(latest_enrollment.status, 'not_enrolled') as latest_status,
        cast(latest_enrollment.enrolled_at at time zone 'UTC' as date) as enrolled_date,
        cast(latest_enrollment.started_at at time zone 'UTC' as date) as started_date,
        best_completion.enrollment_id as completed_enrollment_id,
        best_completion.course_id as completed_course_id,
        best_completion.course_version as completed_course_version,
        cast(best_completion.completed_at at time zone 'UTC' as date) as completed_date,
        required.due_date as due_date,
        required.is_due_enrollment_complete as is_due_enrollment_complete,
        required.is_overdue_on_portal as is_overdue_on_portal,
        -- the derivation beside the portal's flag: the due date passed and the enrollment carrying it is not complete
        coalesce(required.due_date < as_of.as_of_date and not coalesce(required.is_due_enrollment_complete, false), false)
            as is_overdue_by_due_date,
        best_completion.certificate_name as certificate_name,
        cast(best_completion.certificate_expires_at at time zone 'UTC' as date) as certificate_expires_date,
        best_completion.enrollment_id is not null as has_completed
    from required
    cross join as_of
    left join users on users.portal = required.portal and users.user_id = required.user_id
    left join families on families.portal = required.portal and families.course_family_id = required.course_family_id
    left join latest_enrollment
        on latest_enrollment.portal = required.portal
        and latest_enrollment.user_id = required.user_id
        and latest_enrollment.course_family_id = required.course_family_id
    left join best_completion
        on best_completion.portal = required.portal
        and best_completion.user_id = required.user_id
        and best_completion.course_family_id = required.course_family_id
    -- people the portal deleted are nobody's training to chase: their rows are left out
    -- (the pipeline also retires their enrollments and memberships)
    where not coalesce(users.is_deleted, false)
),

stated as (
    select
        joined.*,
        -- the portal's flag first; our due-date rule only where the record does not carry it
        coalesce(joined.is_overdue_on_portal, joined.is_overdue_by_due_date) as is_overdue,
        joined.has_completed
            and coalesce(joined.certificate_expires_date < joined.as_of_date, false) as is_certificate_expired,
        case
            when joined.has_completed
                and coalesce(joined.certificate_expires_date >= joined.as_of_date, true) then 'compliant'
            when joined.has_completed then 'expired'
            when coalesce(joined.is_overdue_on_portal, joined.is_overdue_by_due_date) then 'overdue'
            when joined.due_date between joined.as_of_date and joined.as_of_date + 30 then 'due_soon'
            else 'not_started'
        end as compliance_state
    from joined
),

final as (
    select
        stated.portal,
        stated.as_of_date,
        stated.user_id,
        stated.user_full_name,
        stated.user_email,
        stated.course_family_id,
        stated.course_family_name,
        stated.is_required_by_group,
        stated.required_by_group_ids,
        stated.required_by_groups,
        stated.has_due_date,
        stated.latest_enrollment_id,
        stated.latest_course_id,
        stated.latest_course_name,
        stated.latest_course_version,
        stated.latest_status,
        stated.enrolled_date,
        stated.started_date,
        stated.completed_enrollment_id,
        stated.completed_course_id,
        stated.completed_course_version,
        stated.completed_date,
        stated.due_date,
        case when not coalesce(stated.is_due_enrollment_complete, false) then stated.due_date - stated.as_of_date end
            as days_until_due,
        stated.is_overdue,
        stated.is_overdue_on_portal,
        stated.is_overdue_by_due_date,
        -- never negative: the portal's flag is as of the load, which may come after the as-of date
        case when stated.is_overdue then greatest(stated.as_of_date - stated.due_date, 0) end as days_overdue,
        stated.certificate_name,
        stated.certificate_expires_date,
        stated.is_certificate_expired,
        stated.compliance_state
    from stated
)

select * from final
