with

source as (
    select * from {{ current_rows(source('learnupon', 'exam_answers')) }}
),

final as (
    {% call first_row_per('source.portal, source.exam_enrollment_id, source.question_id', 'source.given_answer') %}
    select
        source.portal as portal,
        source.exam_enrollment_id as exam_enrollment_id,
        source.exam_id as exam_id,
        source.question_id as question_id,
        source.question_text as question_text,
        case lower(trim(source.overall_status))
            when '1' then 'correct'
            when 'correct' then 'correct'
            when '2' then 'incorrect'
            when 'incorrect' then 'incorrect'
            when '0' then 'not_attempted'
            when 'not_attempted' then 'not_attempted'
            when 'not attempted' then 'not_attempted'
        end as answer_status,
        nullif(trim(source.given_answer), '') as given_answer,
        nullif(trim(source.correct_answer), '') as correct_answer,
        source."user" as user_full_name,
        source.email as user_email
    from source
    {% endcall %}
)

select * from final
