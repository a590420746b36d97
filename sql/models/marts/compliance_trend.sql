with

calendar as (
    select * from {{ ref('int_as_of_calendar') }}
),

compliance as (
    select * from {{ ref('compliance_status') }}
),

enrollments as (
    select * from {{ ref('stg_enrollments') }}
),

-- today's required training of active learners, judged at each calendar date by the
-- completions, certificate expiries and due dates recorded in the enrollments
required as (
    select compliance.portal, compliance.user_id, compliance.course_family_id, compliance.due_date
    from compliance
),

completions as (
    select
        enrollments.portal as portal,
        enrollments.user_id as user_id,
        enrollments.course_family_id as course_family_id,
        cast(enrollments.completed_at at time zone 'UTC' as date) as completed_date,
        cast(enrollments.certificate_expires_at at time zone 'UTC' as date) as expires_date
    from enrollments
    where enrollments.is_complete
),

compliant_on as (
    select distinct
        calendar.calendar_date as calendar_date,
        completions.portal as portal,
        completions.user_id as user_id,
        completions.course_family_id as course_family_id
    from completions
    inner join required
        on required.portal = completions.portal
        and required.user_id = completions.user_id
        and required.course_family_id = completions.course_family_id
    inner join calendar
        on coalesce(completions.completed_date <= calendar.calendar_date, true)
        and coalesce(completions.expires_date >= calendar.calendar_date, true)
),

final as (
    select
        required.portal as portal,
        {{ as_of_date() }} as as_of_date,
        calendar.calendar_date as calendar_date,
        calendar.is_as_of_date as is_as_of_date,
        required.course_family_id as course_family_id,
        count(*) as required_count,
        count(compliant_on.user_id) as compliant_count,
        count(*) filter (where compliant_on.user_id is null and required.due_date < calendar.calendar_date)
            as overdue_count,
        {{ rate('count(compliant_on.user_id)', 'count(*)') }} as compliance_rate
    from calendar
    cross join required
    left join compliant_on
        on compliant_on.calendar_date = calendar.calendar_date
        and compliant_on.portal = required.portal
        and compliant_on.user_id = required.user_id
        and compliant_on.course_family_id = required.course_family_id
    group by required.portal, calendar.calendar_date, calendar.is_as_of_date, required.course_family_id
)

select * from final
