with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

versions as (
    select * from {{ ref('stg_portal_versions') }}
),

-- one point per load that saw a portal's figures change (an SCD2 version), with the change since the one
-- before; points after the as-of date are left out
final as (
    select
        versions.portal as portal,
        as_of.as_of_date as as_of_date,
        versions.portal_id as portal_id,
        versions.subdomain as subdomain,
        versions.portal_title as portal_title,
        versions.valid_from_at as valid_from_at,
        versions.valid_to_at as valid_to_at,
        versions.is_current as is_current,
        versions.members_count as members_count,
        versions.licences_purchased as licences_purchased,
        versions.licences_used as licences_used,
        versions.licences_purchased - versions.licences_used as licences_available,
        {{ rate('versions.licences_used', 'versions.licences_purchased') }} as licence_use_rate,
        versions.licences_used - lag(versions.licences_used) over portal_history as licences_used_change,
        versions.licences_purchased - lag(versions.licences_purchased) over portal_history
            as licences_purchased_change
    from versions
    cross join as_of
    where cast(versions.valid_from_at at time zone 'UTC' as date) <= as_of.as_of_date
    window portal_history as (partition by versions.portal, versions.portal_id order by versions.valid_from_at)
)

select * from final
