with

group_requirements as (
    select * from {{ ref('int_group_requirements') }}
),

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

required_by_group as (
    select
        group_requirements.portal as portal,
        group_requirements.user_id as user_id,
        group_requirements.course_family_id as course_family_id,
        array_agg(group_requirements.group_id order by group_requirements.group_id) as required_by_group_ids,
        string_agg(group_requirements.group_title, ', ' order by group_requirements.group_title, group_requirements.group_id)
            as required_by_groups
    from group_requirements
    group by 1, 2, 3
),

-- the due date that applies: the newest enrollment (not unenrolled) that carries one
due_enrollment as (
    {% call first_row_per('enrollments.portal, enrollments.user_id, enrollments.course_family_id', 'enrollments.course_version desc, enrollments.enrolled_at desc nulls last, enrollments.enrollment_id desc') %}
    select enrollments.*
    from enrollments
    where enrollments.due_at is not null
        and not enrollments.is_unenrolled
    {% endcall %}
),

final as (
    select
        coalesce(required_by_group.portal, due_enrollment.portal) as portal,
        coalesce(required_by_group.user_id, due_enrollment.user_id) as user_id,
        coalesce(required_by_group.course_family_id, due_enrollment.course_family_id) as course_family_id,
        required_by_group.user_id is not null as is_required_by_group,
        required_by_group.required_by_group_ids as required_by_group_ids,
        required_by_group.required_by_groups as required_by_groups,
        due_enrollment.user_id is not null as has_due_date,
        due_enrollment.enrollment_id as due_enrollment_id,
        cast(due_enrollment.due_at at time zone 'UTC' as date) as due_date,
        due_enrollment.is_complete as is_due_enrollment_complete,
        due_enrollment.is_overdue_on_portal as is_overdue_on_portal
    from required_by_group
    full outer join due_enrollment
        on due_enrollment.portal = required_by_group.portal
        and due_enrollment.user_id = required_by_group.user_id
        and due_enrollment.course_family_id = required_by_group.course_family_id
)

select * from final
