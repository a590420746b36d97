with

source as (
    select * from {{ current_rows(source('learnupon', 'modules')) }}
),

final as (
    select
        source.course_id as course_id,
        source.id as module_id,
        source.title as module_title,
        lower(source.component_type) as component_type,
        source.exam_id as exam_id,
        source.sequence as sequence,
    from source
    where source.course_id is not null and source.id is not null
    qualify row_number() over (partition by source.course_id, source.id order by source.updated_at desc nulls last) = 1
)

select * from final
