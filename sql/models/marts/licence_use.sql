with

versions as (
    select * from {{ ref('stg_portal_versions') }}
),

final as (
    select
        versions.portal as portal,
        {{ as_of_date() }} as as_of_date,
        versions.portal_id as portal_id,
        versions.subdomain as subdomain,
        versions.portal_title as portal_title,
        versions.members_count as members_count,
        versions.licences_purchased as licences_purchased,
        versions.licences_used as licences_used,
        versions.licences_purchased - versions.licences_used as licences_available,
        {{ rate('versions.licences_used', 'versions.licences_purchased') }} as licence_use_rate,
        versions.licences_used > versions.licences_purchased as is_over_licensed,
        versions.valid_from_at as figures_since_at
    from versions
    where versions.is_current
)

select * from final
