with

source as (
    select * from {{ current_rows(source('learnupon', 'group_courses')) }}
),

final as (
    {% call first_row_per('source.portal, source.id', 'source._dlt_valid_from desc') %}
    select
        source.portal as portal,
        source.id as group_course_id,
        source.group_id as group_id,
        source.course_id as course_id,
        source.group_title as group_title,
        source.course_name as course_name,
        source._dlt_valid_from as valid_from_at
    from source
    where source.group_id is not null and source.course_id is not null
    {% endcall %}
)

select * from final
