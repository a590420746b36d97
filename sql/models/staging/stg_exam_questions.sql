with

source as (
    select * from {{ current_rows(source('learnupon', 'exam_questions')) }}
),

final as (
    {% call first_row_per('source.portal, source.exam_id, source.question_id', 'source.question_text') %}
    select
        source.portal as portal,
        source.exam_id as exam_id,
        source.question_id as question_id,
        source.question_text as question_text,
        -- the API sends HTML: a readable one-line version for reports
        {{ plain_text('source.question_text') }}
            as question_text_plain,
        lower(source.question_type) as question_type,
        lower(source.question_choice_type) as question_choice_type,
        source.points as points
    from source
    {% endcall %}
)

select * from final
