with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

exams as (
    select * from {{ ref('stg_exams') }}
),

answers as (
    select * from {{ ref('stg_exam_answers') }}
),

attempted as (
    select answers.*
    from answers
    left join exams on exams.portal = answers.portal and exams.exam_id = answers.exam_id
    where answers.answer_status in ('correct', 'incorrect')
        and not coalesce(exams.is_survey, false)
),

question_counts as (
    select
        answers.portal as portal,
        answers.exam_id as exam_id,
        answers.question_id as question_id,
        {{ any_value('answers.question_text') }} as question_text,
        count(*) filter (where answers.answer_status in ('correct', 'incorrect')) as attempts_count,
        count(*) filter (where answers.answer_status = 'correct') as correct_count,
        count(*) filter (where answers.answer_status = 'incorrect') as incorrect_count,
        count(*) filter (where answers.answer_status = 'not_attempted') as not_attempted_count,
        {{ any_value('answers.correct_answer') }} as correct_answer
    from answers
    left join exams on exams.portal = answers.portal and exams.exam_id = answers.exam_id
    where not coalesce(exams.is_survey, false)
    group by 1, 2, 3
),

wrong_answers as (
    select
        attempted.portal as portal,
        attempted.exam_id as exam_id,
        attempted.question_id as question_id,
        attempted.given_answer as given_answer,
        count(*) as times_given
    from attempted
    where attempted.answer_status = 'incorrect'
        and attempted.given_answer is not null
    group by 1, 2, 3, 4
),

-- ties go to the alphabetically first answer, so the mart is reproducible
most_common_wrong as (
    {% call first_row_per('wrong_answers.portal, wrong_answers.exam_id, wrong_answers.question_id', 'wrong_answers.times_given desc, wrong_answers.given_answer') %}
    select wrong_answers.*
    from wrong_answers
    {% endcall %}
),

scored as (
    select
        question_counts.portal as portal,
        as_of.as_of_date as as_of_date,
        question_counts.exam_id as exam_id,
        exams.exam_name as exam_name,
        question_counts.question_id as question_id,
        {{ plain_text('question_counts.question_text') }}
            as question_text,
        question_counts.attempts_count as attempts_count,
        question_counts.correct_count as correct_count,
        question_counts.incorrect_count as incorrect_count,
        question_counts.not_attempted_count as not_attempted_count,
        {{ rate('question_counts.correct_count', 'question_counts.attempts_count') }} as share_correct,
        question_counts.correct_answer as correct_answer,
        most_common_wrong.given_answer as most_common_wrong_answer,
        coalesce(most_common_wrong.times_given, 0) as most_common_wrong_answer_count
    from question_counts
    cross join as_of
    left join exams on exams.portal = question_counts.portal and exams.exam_id = question_counts.exam_id
    left join most_common_wrong
        on most_common_wrong.portal = question_counts.portal
        and most_common_wrong.exam_id = question_counts.exam_id
        and most_common_wrong.question_id = question_counts.question_id
),

final as (
    select
        scored.*,
        case when scored.share_correct is not null then
            rank() over (
                partition by scored.portal
                order by scored.share_correct nulls last, scored.attempts_count desc
            )
        end as share_correct_rank
    from scored
)

select * from final
