-- The groups each roster row the sync acts on should be in, per group rule, with the LearnUpon
-- group of that title (null: no group has it, reported as missing_group, never created).
with

rows_to_apply as (
    select * from {{ ref('sync_rows_to_apply') }}
),

roster_groups as (
    select * from {{ ref('sync_roster_groups') }}
),

portal_groups as (
    select * from {{ ref('sync_groups') }}
),

final as (
    select
        rows_to_apply.row_number as row_number,
        roster_groups.rule_number as rule_number,
        roster_groups.group_title as group_title,
        rows_to_apply.external_id as external_id,
        rows_to_apply.user_id as user_id,
        portal_groups.group_id as group_id,
    from rows_to_apply
    inner join roster_groups on roster_groups.row_number = rows_to_apply.row_number
    left join portal_groups on portal_groups.title_key = lower(trim(roster_groups.group_title))
)

select * from final
