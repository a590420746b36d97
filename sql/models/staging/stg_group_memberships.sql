with

source as (
    select * from {{ current_rows(source('learnupon', 'group_memberships')) }}
),

final as (
    {% call first_row_per('source.portal, source.group_id, source.user_id', 'source._dlt_valid_from desc') %}
    select
        source.portal as portal,
        source.group_id as group_id,
        source.user_id as user_id,
        source.membership_id as membership_id,
        source.created_at as created_at,
        source._dlt_valid_from as valid_from_at
    from source
    where source.group_id is not null and source.user_id is not null
    {% endcall %}
)

select * from final
