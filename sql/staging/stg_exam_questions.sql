-- stg_exam_questions: one row per exam question.
with

source as (
    select * from learnupon.exam_questions
    where _dlt_valid_to is null  -- current rows: history and rows deleted upstream have it set
),

final as (
    select
        source.exam_id as exam_id,
        source.question_id as question_id,
        source.question_text as question_text,
        -- the API sends HTML: a readable one-line version for reports
        trim(regexp_replace(regexp_replace(source.question_text, '<[^>]*>', ' ', 'g'), '\s+', ' ', 'g'))
            as question_text_plain,
        lower(source.question_type) as question_type,
        lower(source.question_choice_type) as question_choice_type,
        source.points as points,
    from source
    qualify row_number() over (partition by source.exam_id, source.question_id order by source.question_text) = 1
)

select * from final
