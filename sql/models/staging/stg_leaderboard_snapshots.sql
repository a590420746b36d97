with

source as (
    select * from {{ current_rows(source('learnupon', 'leaderboard_snapshots')) }}
),

-- several runs on one day: the last snapshot of the day wins
final as (
    {% call first_row_per('source.portal, ' ~ try_cast_date('source.snapshot_date') ~ ', source.user_id', 'source.taken_at desc nulls last') %}
    select
        source.portal as portal,
        {{ try_cast_date('source.snapshot_date') }} as snapshot_date,
        source.user_id as user_id,
        source.login as login,
        source.name as full_name,
        source.position as leaderboard_position,
        source.level as level,
        source.total_points as total_points,
        source.total_badges as total_badges,
        source.taken_at as taken_at
    from source
    where {{ try_cast_date('source.snapshot_date') }} is not null
    {% endcall %}
)

select * from final
