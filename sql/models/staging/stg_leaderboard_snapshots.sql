with

source as (
    select * from {{ current_rows(source('learnupon', 'leaderboard_snapshots')) }}
),

final as (
    select
        try_cast(source.snapshot_date as date) as snapshot_date,
        source.user_id as user_id,
        source.login as login,
        source.name as full_name,
        source.position as leaderboard_position,
        source.level as level,
        source.total_points as total_points,
        source.total_badges as total_badges,
        source.taken_at as taken_at,
    from source
    where try_cast(source.snapshot_date as date) is not null
    -- several runs on one day: the last snapshot of the day wins
    qualify row_number() over (
        partition by try_cast(source.snapshot_date as date), source.user_id
        order by source.taken_at desc nulls last
    ) = 1
)

select * from final
