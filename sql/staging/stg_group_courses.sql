-- stg_group_courses: one row per current group-course link (a course made required for
-- the group's members). SCD2 source: only current rows (_dlt_valid_to null).
with

source as (
    select * from learnupon.group_courses
    where _dlt_valid_to is null
),

final as (
    select
        source.id as group_course_id,
        source.group_id as group_id,
        source.course_id as course_id,
        source.group_title as group_title,
        source.course_name as course_name,
        source._dlt_valid_from as valid_from_at,
    from source
    where source.group_id is not null and source.course_id is not null
    qualify row_number() over (partition by source.id order by source._dlt_valid_from desc) = 1
)

select * from final
