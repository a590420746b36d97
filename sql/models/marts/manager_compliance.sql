with

managers as (
    select * from {{ ref('stg_group_managers') }}
),

group_compliance as (
    select * from {{ ref('group_compliance') }}
),

users as (
    select * from {{ ref('stg_users') }}
),

-- a learner in two groups of one manager appears once, with both groups named
final as (
    select
        managers.portal as portal,
        {{ any_value('group_compliance.as_of_date') }} as as_of_date,
        managers.manager_user_id as manager_user_id,
        coalesce({{ any_value('users.full_name') }}, {{ any_value('managers.manager_name') }}, {{ any_value('managers.manager_email') }})
            as manager_name,
        coalesce({{ any_value('users.email') }}, {{ any_value('managers.manager_email') }}) as manager_email,
        group_compliance.user_id as user_id,
        {{ any_value('group_compliance.user_full_name') }} as user_full_name,
        {{ any_value('group_compliance.user_email') }} as user_email,
        group_compliance.course_family_id as course_family_id,
        {{ any_value('group_compliance.course_family_name') }} as course_family_name,
        array_agg(distinct group_compliance.group_id order by group_compliance.group_id) as managed_group_ids,
        string_agg(distinct group_compliance.group_title, ', ' order by group_compliance.group_title) as managed_groups,
        {{ any_value('group_compliance.latest_status') }} as latest_status,
        {{ any_value('group_compliance.due_date') }} as due_date,
        {{ any_value('group_compliance.days_overdue') }} as days_overdue,
        {{ any_value('group_compliance.certificate_expires_date') }} as certificate_expires_date,
        {{ any_value('group_compliance.compliance_state') }} as compliance_state
    from managers
    inner join group_compliance on group_compliance.portal = managers.portal and group_compliance.group_id = managers.group_id
    left join users on users.portal = managers.portal and users.user_id = managers.manager_user_id
    group by managers.portal, managers.manager_user_id, group_compliance.user_id, group_compliance.course_family_id
)

select * from final
