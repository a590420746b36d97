-- The current group memberships of LearnUpon users: the ones a leave_group ends, and those a
-- join_group does not need to make.
with

memberships as (
    select *
    from {{ optional_source('learnupon', 'group_memberships', [
        ['group_id', 'bigint'], ['user_id', 'bigint'], ['membership_id', 'bigint'], ['_dlt_valid_to', 'timestamptz'],
    ]) }} as raw
    where raw._dlt_valid_to is null
),

final as (
    select
        memberships.group_id as group_id,
        memberships.user_id as user_id,
        memberships.membership_id as membership_id,
    from memberships
)

select * from final
