with

source as (
    select * from {{ current_rows(source('learnupon', 'groups')) }}
),

final as (
    {% call first_row_per('source.portal, source.id', 'source.updated_at desc nulls last') %}
    select
        source.portal as portal,
        source.id as group_id,
        source.title as group_title,
        source.description as description,
        source.number_of_members as members_count,
        source.created_at as created_at,
        source.updated_at as updated_at
    from source
    {% endcall %}
)

select * from final
