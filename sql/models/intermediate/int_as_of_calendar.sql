with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

month_ends as (
    select
        {{ month_end_before('as_of.as_of_date', 'months.months_back') }} as calendar_date
    from as_of
    cross join generate_series(1, {{ var('trend_months', 12) }}) as months(months_back)
),

final as (
    select as_of.as_of_date as calendar_date, true as is_as_of_date from as_of
    union all
    select month_ends.calendar_date, false from month_ends
)

select * from final
