-- The group titles each roster row (valid or not) is given by the mapping's group rules: a rule
-- without values names the group after the row's value in its column; a rule with values maps
-- them (case aside), and a value it does not list gives no group.
with

group_rules as (
    {{ sync_group_rules() }}
),

cells as (
    select * from {{ ref('sync_roster_cells') }}
),

final as (
    select distinct
        cells.row_number as row_number,
        group_rules.rule_number as rule_number,
        coalesce(group_rules.group_title, cells.value) as group_title,
    from cells
    inner join group_rules
        on group_rules.column_name = cells.column_name
        and (group_rules.from_value is null or lower(group_rules.from_value) = lower(cells.value))
)

select * from final
