with

source as (
    select * from {{ current_rows(source('learnupon', 'exam_question_options')) }}
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
