with

source as (
    select * from {{ current_rows(source('learnupon', 'exam_question_options')) }}
),

final as (
    {% call first_row_per('source.portal, source.exam_id, source.question_id, source.answer_id', 'source.sequence') %}
    select
        source.portal as portal,
        source.exam_id as exam_id,
        source.question_id as question_id,
        source.answer_id as answer_id,
        source.answer_text as answer_text,
        coalesce(source.is_correct, false) as is_correct,
        source.for_matching as matching_answer,
        source.sequence as sequence,
        source.predefined_answers as predefined_answers
    from source
    {% endcall %}
)

select * from final
