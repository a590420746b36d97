-- stg_exam_question_options: one row per answer option offered for an exam question.
with

source as (
    select * from learnupon.exam_question_options
    where _dlt_valid_to is null  -- current rows: history and rows deleted upstream have it set
),

final as (
    select
        source.exam_id as exam_id,
        source.question_id as question_id,
        source.answer_id as answer_id,
        source.answer_text as answer_text,
        coalesce(source.is_correct, false) as is_correct,
        source.for_matching as matching_answer,
        source.sequence as sequence,
        source.predefined_answers as predefined_answers,
    from source
    qualify row_number() over (
        partition by source.exam_id, source.question_id, source.answer_id order by source.sequence
    ) = 1
)

select * from final
