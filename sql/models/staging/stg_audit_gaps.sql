with

source as (
    select * from {{ current_rows(source('learnupon', 'audit_gaps')) }}
),

final as (
    select distinct
        source.portal as portal,
        source.gap_start as gap_start_at,
        source.gap_end as gap_end_at,
        {{ days_between('source.gap_start', 'source.gap_end') }} as gap_days,
        source.noticed_at as noticed_at,
        source.run_id as run_id
    from source
)

select * from final
