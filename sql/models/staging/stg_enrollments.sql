with

source as (
    select * from {{ current_rows(source('learnupon', 'enrollments')) }}
),

courses as (
    select * from {{ ref('stg_courses') }}
),

deduplicated as (
    {% call first_row_per('source.portal, source.id', 'source.updated_at desc nulls last') %}
    select source.*
    from source
    {% endcall %}
),

final as (
    select
        deduplicated.portal as portal,
        deduplicated.id as enrollment_id,
        deduplicated.user_id as user_id,
        deduplicated.course_id as course_id,
        coalesce(courses.course_name, deduplicated.course_name) as course_name,
        -- a course we never listed is its own family
        coalesce(courses.course_family_id, deduplicated.course_id) as course_family_id,
        coalesce(courses.course_family_name, deduplicated.course_name) as course_family_name,
        coalesce(deduplicated.version, courses.course_version, 1) as course_version,
        lower(trim(deduplicated.status)) as status,
        lower(trim(deduplicated.status)) in ('completed', 'passed') as is_complete,
        deduplicated.percentage as score_percentage,
        deduplicated.percentage_complete as progress_percentage,
        deduplicated.date_enrolled as enrolled_at,
        deduplicated.date_started as started_at,
        deduplicated.date_completed as completed_at,
        deduplicated.date_lastaccessed as last_accessed_at,
        deduplicated.due_date as due_at,
        -- the portal's flag as sent; null when the record does not carry it (only courses with due dates have it)
        deduplicated.is_overdue as is_overdue_on_portal,
        deduplicated.course_access_expires_at as access_expires_at,
        nullif(trim(deduplicated.certificate_name), '') as certificate_name,
        deduplicated.cert_expires_at as certificate_expires_at,
        coalesce(deduplicated.was_recertified, false) as was_recertified,
        coalesce(deduplicated.unenrolled, false) as is_unenrolled,
        coalesce(deduplicated.from_store, false) as is_from_store,
        coalesce(deduplicated.from_catalog, false) as is_from_catalog,
        deduplicated.group_id as group_id,
        deduplicated.updated_at as updated_at
    from deduplicated
    left join courses
        on courses.portal = deduplicated.portal
        and courses.course_id = deduplicated.course_id
)

select * from final
