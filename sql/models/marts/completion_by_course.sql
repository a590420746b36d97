with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

courses as (
    select * from {{ ref('stg_courses') }}
),

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

latest_enrollments as (
    select * from {{ ref('int_latest_enrollments') }}
),

compliance as (
    select * from {{ ref('compliance_status') }}
),

active_enrollments as (
    select enrollments.*
    from enrollments
    left join users on users.portal = enrollments.portal and users.user_id = enrollments.user_id
    where not coalesce(users.is_deleted, false)
),

-- latest per learner, then deleted learners left out (the latest is per learner either way)
latest_per_learner as (
    select latest_enrollments.*
    from latest_enrollments
    left join users on users.portal = latest_enrollments.portal and users.user_id = latest_enrollments.user_id
    where not coalesce(users.is_deleted, false)
),

completers as (
    select distinct
        active_enrollments.portal as portal,
        active_enrollments.user_id as user_id,
        active_enrollments.course_family_id as course_family_id
    from active_enrollments
    where active_enrollments.is_complete
),

learner_counts as (
    select
        latest_per_learner.portal as portal,
        latest_per_learner.course_family_id as course_family_id,
        {{ any_value('latest_per_learner.course_family_name') }} as course_family_name,
        count(*) as learners_enrolled_count,
        count(*) filter (where latest_per_learner.status = 'not_started') as not_started_count,
        count(*) filter (where latest_per_learner.status = 'in_progress') as in_progress_count,
        count(*) filter (where latest_per_learner.status = 'pending_review') as pending_review_count,
        count(*) filter (where latest_per_learner.status = 'failed') as failed_count,
        count(completers.user_id) as completed_count
    from latest_per_learner
    left join completers
        on completers.portal = latest_per_learner.portal
        and completers.user_id = latest_per_learner.user_id
        and completers.course_family_id = latest_per_learner.course_family_id
    group by 1, 2
),

enrollment_counts as (
    select
        active_enrollments.portal as portal,
        active_enrollments.course_family_id as course_family_id,
        count(*) as enrollments_count
    from active_enrollments
    group by 1, 2
),

compliance_counts as (
    select
        compliance.portal as portal,
        compliance.course_family_id as course_family_id,
        count(*) as required_learners_count,
        count(*) filter (where compliance.compliance_state = 'compliant') as compliant_count,
        count(*) filter (where compliance.compliance_state = 'due_soon') as due_soon_count,
        count(*) filter (where compliance.compliance_state = 'overdue') as overdue_count,
        count(*) filter (where compliance.compliance_state = 'expired') as expired_count,
        count(*) filter (where compliance.compliance_state = 'not_started') as required_not_started_count
    from compliance
    group by 1, 2
),

families as (
    select
        courses.portal as portal,
        courses.course_family_id as course_family_id,
        {{ any_value('courses.course_family_name') }} as course_family_name,
        count(*) as versions_count,
        max(courses.course_version) as latest_course_version,
        {{ arg_max('courses.course_id', 'courses.course_version') }} as latest_course_id
    from courses
    group by 1, 2
),

all_families as (
    select families.portal, families.course_family_id from families
    union
    select learner_counts.portal, learner_counts.course_family_id from learner_counts
    union
    select compliance_counts.portal, compliance_counts.course_family_id from compliance_counts
),

final as (
    select
        all_families.portal as portal,
        as_of.as_of_date as as_of_date,
        all_families.course_family_id as course_family_id,
        coalesce(families.course_family_name, learner_counts.course_family_name) as course_family_name,
        coalesce(families.versions_count, 1) as versions_count,
        families.latest_course_id as latest_course_id,
        families.latest_course_version as latest_course_version,
        coalesce(enrollment_counts.enrollments_count, 0) as enrollments_count,
        coalesce(learner_counts.learners_enrolled_count, 0) as learners_enrolled_count,
        coalesce(learner_counts.not_started_count, 0) as not_started_count,
        coalesce(learner_counts.in_progress_count, 0) as in_progress_count,
        coalesce(learner_counts.pending_review_count, 0) as pending_review_count,
        coalesce(learner_counts.failed_count, 0) as failed_count,
        coalesce(learner_counts.completed_count, 0) as completed_count,
        {{ rate('learner_counts.completed_count', 'learner_counts.learners_enrolled_count') }}
            as completion_rate,
        coalesce(compliance_counts.required_learners_count, 0) as required_learners_count,
        coalesce(compliance_counts.compliant_count, 0) as compliant_count,
        coalesce(compliance_counts.due_soon_count, 0) as due_soon_count,
        coalesce(compliance_counts.overdue_count, 0) as overdue_count,
        coalesce(compliance_counts.expired_count, 0) as expired_count,
        coalesce(compliance_counts.required_not_started_count, 0) as required_not_started_count,
        {{ rate('compliance_counts.compliant_count', 'compliance_counts.required_learners_count') }}
            as compliance_rate
    from all_families
    cross join as_of
    left join families
        on families.portal = all_families.portal
        and families.course_family_id = all_families.course_family_id
    left join learner_counts
        on learner_counts.portal = all_families.portal
        and learner_counts.course_family_id = all_families.course_family_id
    left join enrollment_counts
        on enrollment_counts.portal = all_families.portal
        and enrollment_counts.course_family_id = all_families.course_family_id
    left join compliance_counts
        on compliance_counts.portal = all_families.portal
        and compliance_counts.course_family_id = all_families.course_family_id
)

select * from final
