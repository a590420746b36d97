with

-- every version of every portal the realm lists (SCD2: a version per change of its record), not only
-- the current ones: licence use has a history
versions as (
    select * from {{ personal_rows(source('learnupon', 'portals')) }}
),

final as (
    select
        versions.portal as portal,
        versions.id as portal_id,
        versions.subdomain as subdomain,
        versions.title as portal_title,
        versions.number_of_members as members_count,
        versions.number_licenses_purchased as licences_purchased,
        versions.number_licenses_used as licences_used,
        versions.allow_course_authoring as allows_course_authoring,
        versions.created_at as created_at,
        versions.updated_at as updated_at,
        versions._dlt_valid_from as valid_from_at,
        versions._dlt_valid_to as valid_to_at,
        versions._dlt_valid_to is null as is_current
    from versions
    where versions.id is not null
)

select * from final
