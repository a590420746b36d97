with

source as (
    select * from {{ current_rows(source('learnupon', 'exams')) }}
),

final as (
    {% call first_row_per('source.portal, source.exam_id', 'source.name') %}
    select
        source.portal as portal,
        source.exam_id as exam_id,
        source.name as exam_name,
        coalesce(source.is_survey, false) as is_survey,
        coalesce(source.is_knowledge_check, false) as is_knowledge_check,
        coalesce(source.is_timed_exam, false) as is_timed_exam,
        source.time_for_exam as time_allowed_minutes,
        source.pass_mark as pass_mark,
        source.pass_percentage as pass_percentage,
        -- an integer, or "unlimited" (the reference's sample); null when the portal does not say
        {{ try_cast_bigint('source.attempts') }} as attempts_allowed,
        coalesce(lower(trim(source.attempts)) = 'unlimited', false) as has_unlimited_attempts
    from source
    {% endcall %}
)

select * from final
