-- stg_audit_gaps: one row per window of audit events lost for good (the API keeps only 30 days
-- and the pipeline did not run within that window).
with

source as (
    select * from learnupon.audit_gaps
),

final as (
    select distinct
        source.gap_start as gap_start_at,
        source.gap_end as gap_end_at,
        date_diff('day', source.gap_start, source.gap_end) as gap_days,
        source.noticed_at as noticed_at,
        source.run_id as run_id,
    from source
)

select * from final
