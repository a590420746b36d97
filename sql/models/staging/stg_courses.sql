with

source as (
    select * from {{ current_rows(source('learnupon', 'courses')) }}
),

deduplicated as (
    {% call first_row_per('source.portal, source.id', 'source.created_at desc nulls last') %}
    select source.*
    from source
    {% endcall %}
),

renamed as (
    select
        deduplicated.portal as portal,
        deduplicated.id as course_id,
        deduplicated.name as course_name,
        coalesce(nullif(deduplicated.source_id, 0), deduplicated.id) as course_family_id,
        coalesce(deduplicated.version, 1) as course_version,
        lower(deduplicated.published_status_id) as published_status,
        deduplicated.reference_code as reference_code,
        deduplicated.keywords as keywords,
        deduplicated.difficulty_level as difficulty_level,
        deduplicated.minute_length as length,
        deduplicated.course_length_unit as length_unit,
        deduplicated.credits_to_be_awarded as credits_to_be_awarded,
        deduplicated.due_days_after_enrollment as due_days_after_enrollment,
        coalesce(deduplicated.sellable, false) as is_sellable,
        coalesce(deduplicated.cataloged, false) as is_cataloged,
        deduplicated.owner_id as owner_user_id,
        deduplicated.owner_email as owner_email,
        deduplicated.created_at as created_at,
        deduplicated.date_published as published_at,
        deduplicated.license_expires as license_expires_at
    from deduplicated
),

families as (
    select
        renamed.portal as portal,
        renamed.course_family_id as course_family_id,
        -- the family is named after its newest version
        {{ arg_max('renamed.course_name', 'renamed.course_version') }} as course_family_name,
        count(*) as family_versions_count,
        max(renamed.course_version) as latest_course_version
    from renamed
    group by 1, 2
),

final as (
    select
        renamed.*,
        families.course_family_name as course_family_name,
        families.family_versions_count as family_versions_count,
        renamed.course_version = families.latest_course_version as is_latest_version
    from renamed
    inner join families
        on families.portal = renamed.portal
        and families.course_family_id = renamed.course_family_id
)

select * from final
