with

source as (
    select * from {{ current_rows(source('learnupon', 'modules')) }}
),

final as (
    {% call first_row_per('source.portal, source.course_id, source.id', 'source.updated_at desc nulls last') %}
    select
        source.portal as portal,
        source.course_id as course_id,
        source.id as module_id,
        source.title as module_title,
        lower(source.component_type) as component_type,
        source.exam_id as exam_id,
        source.sequence as sequence
    from source
    where source.course_id is not null and source.id is not null
    {% endcall %}
)

select * from final
