-- completion_by_group: one row per group and course family the group makes required
-- (group_courses), counting the group's current, not deleted members by compliance_state
-- as of getvariable('as_of'). compliance_rate = compliant / members.
with

memberships as (
    select * from staging.stg_group_memberships
),

group_courses as (
    select * from staging.stg_group_courses
),

groups as (
    select * from staging.stg_groups
),

courses as (
    select * from staging.stg_courses
),

compliance as (
    select * from reporting.compliance_status
),

active_compliance as (
    select
        compliance.*,
        compliance.completed_date is not null as has_completed_any,
    from compliance
    where not compliance.is_user_deleted
),

-- a group may link several versions of one family: count each member once per family
required_pairs as (
    select distinct
        memberships.group_id as group_id,
        memberships.user_id as user_id,
        coalesce(courses.course_family_id, group_courses.course_id) as course_family_id,
    from memberships
    inner join group_courses on group_courses.group_id = memberships.group_id
    left join courses on courses.course_id = group_courses.course_id
),

group_titles as (
    select
        group_courses.group_id as group_id,
        any_value(group_courses.group_title) as group_title,
    from group_courses
    group by 1
),

final as (
    select
        any_value(compliance.as_of_date) as as_of_date,
        required_pairs.group_id as group_id,
        coalesce(any_value(groups.group_title), any_value(group_titles.group_title)) as group_title,
        required_pairs.course_family_id as course_family_id,
        any_value(compliance.course_family_name) as course_family_name,
        count(*) as members_count,
        count(*) filter (where compliance.latest_status <> 'not_enrolled') as enrolled_count,
        count(*) filter (where compliance.has_completed_any) as completed_count,
        count(*) filter (where compliance.compliance_state = 'compliant') as compliant_count,
        count(*) filter (where compliance.compliance_state = 'due_soon') as due_soon_count,
        count(*) filter (where compliance.compliance_state = 'overdue') as overdue_count,
        count(*) filter (where compliance.compliance_state = 'expired') as expired_count,
        count(*) filter (where compliance.compliance_state = 'not_started') as not_started_count,
        round(count(*) filter (where compliance.compliance_state = 'compliant') / count(*), 4) as compliance_rate,
    from required_pairs
    inner join active_compliance as compliance
        on compliance.user_id = required_pairs.user_id
        and compliance.course_family_id = required_pairs.course_family_id
    left join groups on groups.group_id = required_pairs.group_id
    left join group_titles on group_titles.group_id = required_pairs.group_id
    group by required_pairs.group_id, required_pairs.course_family_id
)

select * from final
