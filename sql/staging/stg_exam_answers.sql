-- stg_exam_answers: one row per learner answer to an exam question (exam enrollment, question).
-- answer_status is decoded from either documented form: 0/1/2 or not_attempted/correct/incorrect.
with

source as (
    select * from learnupon.exam_answers
    where _dlt_valid_to is null  -- current rows: history and rows deleted upstream have it set
),

final as (
    select
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
        source.email as user_email,
    from source
    qualify row_number() over (
        partition by source.exam_enrollment_id, source.question_id order by source.given_answer
    ) = 1
)

select * from final
