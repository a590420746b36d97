with

source as (
    select * from {{ current_rows(source('learnupon', 'group_managers')) }}
),

final as (
    {% call first_row_per('source.portal, source.group_id, source.user_id', 'source.updated_at desc nulls last, source.id desc') %}
    select
        source.portal as portal,
        source.id as group_manager_id,
        source.group_id as group_id,
        source.user_id as manager_user_id,
        nullif(trim(concat_ws(' ', source.first_name, source.last_name)), '') as manager_name,
        source.email as manager_email,
        coalesce(source.can_create_users, false) as can_create_users,
        source.group_title as group_title
    from source
    where source.group_id is not null and source.user_id is not null
    {% endcall %}
)

select * from final
