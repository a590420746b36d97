with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

snapshots as (
    select * from {{ ref('stg_leaderboard_snapshots') }}
),

final as (
    select
        snapshots.portal as portal,
        as_of.as_of_date as as_of_date,
        snapshots.snapshot_date as snapshot_date,
        snapshots.user_id as user_id,
        snapshots.login as login,
        snapshots.full_name as user_full_name,
        snapshots.leaderboard_position as leaderboard_position,
        snapshots.level as level,
        snapshots.total_points as total_points,
        snapshots.total_badges as total_badges,
        snapshots.total_points - lag(snapshots.total_points) over learner_history as points_gained,
        lag(snapshots.leaderboard_position) over learner_history - snapshots.leaderboard_position
            as position_change,
        snapshots.taken_at as taken_at
    from snapshots
    cross join as_of
    where snapshots.snapshot_date <= as_of.as_of_date
    window learner_history as (partition by snapshots.portal, snapshots.user_id order by snapshots.snapshot_date)
)

select * from final
