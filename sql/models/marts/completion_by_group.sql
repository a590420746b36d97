with

group_requirements as (
    select * from {{ ref('int_group_requirements') }}
),

compliance as (
    select * from {{ ref('compliance_status') }}
),

final as (
    select
        group_requirements.portal as portal,
        {{ any_value('compliance.as_of_date') }} as as_of_date,
        group_requirements.group_id as group_id,
        {{ any_value('group_requirements.group_title') }} as group_title,
        group_requirements.course_family_id as course_family_id,
        {{ any_value('compliance.course_family_name') }} as course_family_name,
        count(*) as members_count,
        count(*) filter (where compliance.latest_status <> 'not_enrolled') as enrolled_count,
        count(*) filter (where compliance.completed_date is not null) as completed_count,
        count(*) filter (where compliance.compliance_state = 'compliant') as compliant_count,
        count(*) filter (where compliance.compliance_state = 'due_soon') as due_soon_count,
        count(*) filter (where compliance.compliance_state = 'overdue') as overdue_count,
        count(*) filter (where compliance.compliance_state = 'expired') as expired_count,
        count(*) filter (where compliance.compliance_state = 'not_started') as not_started_count,
        {{ rate("count(*) filter (where compliance.compliance_state = 'compliant')", 'count(*)') }} as compliance_rate
    from group_requirements
    inner join compliance
        on compliance.portal = group_requirements.portal
        and compliance.user_id = group_requirements.user_id
        and compliance.course_family_id = group_requirements.course_family_id
    group by group_requirements.portal, group_requirements.group_id, group_requirements.course_family_id
)

select * from final
