with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

users as (
    select * from {{ ref('stg_users') }}
),

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

compliance as (
    select * from {{ ref('compliance_status') }}
),

enrollment_counts as (
    select
        enrollments.portal as portal,
        enrollments.user_id as user_id,
        count(*) as enrollments_count,
        count(*) filter (where enrollments.status = 'not_started') as not_started_count,
        count(*) filter (where enrollments.status = 'in_progress') as in_progress_count,
        count(*) filter (where enrollments.is_complete) as completed_count,
        count(*) filter (
            where cast(enrollments.enrolled_at at time zone 'UTC' as date)
                between (select as_of.as_of_date - 30 from as_of) and (select as_of.as_of_date from as_of)
        ) as enrolled_last_30_days_count,
        max(enrollments.last_accessed_at) as last_course_access_at
    from enrollments
    group by 1, 2
),

required_counts as (
    select
        compliance.portal as portal,
        compliance.user_id as user_id,
        count(*) as required_count,
        count(*) filter (where compliance.compliance_state <> 'compliant') as open_required_count,
        -- as overdue_training counts them: overdue, or a certificate expired and the re-enrollment overdue
        count(*) filter (where compliance.is_overdue and compliance.compliance_state in ('overdue', 'expired'))
            as overdue_required_count
    from compliance
    group by 1, 2
),

joined as (
    select
        users.portal as portal,
        as_of.as_of_date as as_of_date,
        users.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        users.user_type as user_type,
        users.is_enabled as is_enabled,
        users.is_deleted as is_deleted,
        users.deleted_at as deleted_at,
        cast(users.created_at at time zone 'UTC' as date) as created_date,
        users.sign_in_count as sign_in_count,
        users.last_sign_in_at as last_sign_in_at,
        enrollment_counts.last_course_access_at as last_course_access_at,
        cast(greatest(users.last_sign_in_at, enrollment_counts.last_course_access_at) at time zone 'UTC' as date)
            as last_active_date,
        coalesce(enrollment_counts.enrollments_count, 0) as enrollments_count,
        coalesce(enrollment_counts.not_started_count, 0) as not_started_count,
        coalesce(enrollment_counts.in_progress_count, 0) as in_progress_count,
        coalesce(enrollment_counts.completed_count, 0) as completed_count,
        coalesce(enrollment_counts.enrolled_last_30_days_count, 0) as enrolled_last_30_days_count,
        coalesce(required_counts.required_count, 0) as required_count,
        coalesce(required_counts.open_required_count, 0) as open_required_count,
        coalesce(required_counts.overdue_required_count, 0) as overdue_required_count
    from users
    cross join as_of
    left join enrollment_counts on enrollment_counts.portal = users.portal and enrollment_counts.user_id = users.user_id
    left join required_counts on required_counts.portal = users.portal and required_counts.user_id = users.user_id
),

final as (
    select
        joined.*,
        joined.as_of_date - joined.last_active_date as days_since_last_active,
        coalesce(joined.as_of_date - joined.last_active_date > 90, true) as is_inactive,
        not joined.is_deleted
            and coalesce(joined.as_of_date - joined.last_active_date > 90, true)
            and joined.open_required_count > 0 as is_inactive_with_open_training
    from joined
)

select * from final
