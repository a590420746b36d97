with

memberships as (
    select * from {{ ref('stg_group_memberships') }}
),

groups as (
    select * from {{ ref('stg_groups') }}
),

group_requirements as (
    select * from {{ ref('int_group_requirements') }}
),

compliance as (
    select * from {{ ref('compliance_status') }}
),

-- every required training of every current member, whichever group made it required
final as (
    select
        memberships.portal as portal,
        compliance.as_of_date as as_of_date,
        memberships.group_id as group_id,
        coalesce(groups.group_title, cast(memberships.group_id as varchar)) as group_title,
        compliance.user_id as user_id,
        compliance.user_full_name as user_full_name,
        compliance.user_email as user_email,
        compliance.course_family_id as course_family_id,
        compliance.course_family_name as course_family_name,
        group_requirements.user_id is not null as is_required_by_this_group,
        compliance.required_by_group_ids as required_by_group_ids,
        compliance.required_by_groups as required_by_groups,
        compliance.latest_course_id as latest_course_id,
        compliance.latest_course_version as latest_course_version,
        compliance.latest_status as latest_status,
        compliance.due_date as due_date,
        compliance.days_overdue as days_overdue,
        compliance.completed_date as completed_date,
        compliance.certificate_expires_date as certificate_expires_date,
        compliance.compliance_state as compliance_state
    from memberships
    inner join compliance on compliance.portal = memberships.portal and compliance.user_id = memberships.user_id
    left join groups on groups.portal = memberships.portal and groups.group_id = memberships.group_id
    left join group_requirements
        on group_requirements.portal = memberships.portal
        and group_requirements.group_id = memberships.group_id
        and group_requirements.user_id = compliance.user_id
        and group_requirements.course_family_id = compliance.course_family_id
)

select * from final
