with

memberships as (
    select * from {{ ref('stg_group_memberships') }}
),

group_courses as (
    select * from {{ ref('stg_group_courses') }}
),

groups as (
    select * from {{ ref('stg_groups') }}
),

courses as (
    select * from {{ ref('stg_courses') }}
),

-- a group may link several versions of one family: one row per member and family
final as (
    select
        memberships.portal as portal,
        memberships.group_id as group_id,
        coalesce({{ any_value('groups.group_title') }}, {{ any_value('group_courses.group_title') }}, cast(memberships.group_id as varchar))
            as group_title,
        memberships.user_id as user_id,
        coalesce(courses.course_family_id, group_courses.course_id) as course_family_id
    from memberships
    inner join group_courses
        on group_courses.portal = memberships.portal
        and group_courses.group_id = memberships.group_id
    left join courses on courses.portal = group_courses.portal and courses.course_id = group_courses.course_id
    left join groups on groups.portal = memberships.portal and groups.group_id = memberships.group_id
    group by memberships.portal, memberships.group_id, memberships.user_id, coalesce(courses.course_family_id, group_courses.course_id)
)

select * from final
