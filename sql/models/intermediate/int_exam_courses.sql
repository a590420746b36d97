with

exams as (
    select * from {{ ref('stg_exams') }}
),

modules as (
    select * from {{ ref('stg_modules') }}
),

courses as (
    select * from {{ ref('stg_courses') }}
),

-- the reference names an exam by "the identifier of a course module": a module either
-- carries the exam's id as exam_id, or is the exam itself (module id = exam id)
placed as (
    select
        exams.portal as portal,
        exams.exam_id as exam_id,
        modules.course_id as course_id
    from exams
    inner join modules on modules.portal = exams.portal and modules.exam_id = exams.exam_id
    union
    select
        exams.portal,
        exams.exam_id,
        modules.course_id
    from exams
    inner join modules
        on modules.portal = exams.portal
        and modules.module_id = exams.exam_id
        and modules.exam_id is null
),

final as (
    select
        placed.portal as portal,
        placed.exam_id as exam_id,
        -- a module shared by several courses: the newest version placing it
        {{ arg_max('placed.course_id', 'coalesce(courses.course_version, 0)') }} as course_id,
        {{ arg_max('courses.course_name', 'coalesce(courses.course_version, 0)') }} as course_name,
        {{ arg_max('courses.course_version', 'coalesce(courses.course_version, 0)') }} as course_version,
        {{ arg_max('coalesce(courses.course_family_id, placed.course_id)', 'coalesce(courses.course_version, 0)') }}
            as course_family_id,
        {{ arg_max('courses.course_family_name', 'coalesce(courses.course_version, 0)') }} as course_family_name,
        count(distinct placed.course_id) as courses_placing_count
    from placed
    left join courses on courses.portal = placed.portal and courses.course_id = placed.course_id
    group by 1, 2
)

select * from final
