-- join_group and leave_group (step 4), one row per person and group. A row joins each group the
-- rules give it that it is not in yet (a new user after its creation; never before an invitation
-- is accepted). It leaves a group a rule manages when it has a value in that rule's column and
-- the rule no longer gives it the group: any such group (leave_groups = managed) or only one the
-- sync itself joined it to (joined_by_sync). A blank cell ends no membership.
with

settings as (
    {{ sync_settings() }}
),

group_rules as (
    {{ sync_group_rules() }}
),

managed_group_titles as (
    {{ sync_managed_groups() }}
),

cells as (
    select * from {{ ref('sync_roster_cells') }}
),

roster_groups as (
    select * from {{ ref('sync_roster_groups') }}
),

rows_to_apply as (
    select * from {{ ref('sync_rows_to_apply') }}
),

desired_memberships as (
    select * from {{ ref('sync_desired_memberships') }}
),

portal_groups as (
    select * from {{ ref('sync_groups') }}
),

memberships as (
    -- the current memberships
    select
        raw.group_id as group_id,
        raw.user_id as user_id,
        raw.membership_id as membership_id,
    from {{ optional_source('learnupon', 'group_memberships', [
        ['group_id', 'bigint'], ['user_id', 'bigint'], ['membership_id', 'bigint'], ['_dlt_valid_to', 'timestamptz'],
    ]) }} as raw
    where raw._dlt_valid_to is null
),

journal as (
    select * from {{ source('sync_journal', 'sync_actions') }}
),

joined_by_sync as (
    select distinct journal.external_id as external_id, journal.group_id as group_id
    from journal
    where journal.action = 'join_group' and journal.status = 'succeeded'
),

managed_groups as (
    -- per rule, the groups it manages: every title it gives a roster value, the titles listed in its
    -- `manages`, and (for every rule) each group the sync has put someone in
    select distinct titles.rule_number as rule_number, portal_groups.group_id as group_id
    from (
        select roster_groups.rule_number, roster_groups.group_title from roster_groups
        union all
        select managed_group_titles.rule_number, managed_group_titles.group_title from managed_group_titles
    ) as titles
    inner join portal_groups on portal_groups.title_key = lower(trim(titles.group_title))
    union
    select rules.rule_number, joined_by_sync.group_id
    from joined_by_sync
    cross join (select distinct group_rules.rule_number from group_rules) as rules
),

rules_with_a_value as (
    -- (row, rule) where the row has a value in the rule's column: a blank cell ends no membership
    select distinct cells.row_number as row_number, group_rules.rule_number as rule_number
    from cells
    inner join group_rules on group_rules.column_name = cells.column_name
),

joins as (
    select distinct
        desired_memberships.row_number as row_number,
        desired_memberships.external_id as external_id,
        desired_memberships.user_id as user_id,
        desired_memberships.group_id as group_id,
    from desired_memberships
    cross join settings
    where desired_memberships.group_id is not null
        and not exists (
            select 1 from memberships
            where memberships.user_id = desired_memberships.user_id and memberships.group_id = desired_memberships.group_id
        )
        and not (settings.new_users = 'invite' and desired_memberships.user_id is null)
),

leaves as (
    select distinct
        rows_to_apply.row_number as row_number,
        rows_to_apply.external_id as external_id,
        rows_to_apply.user_id as user_id,
        memberships.group_id as group_id,
        memberships.membership_id as membership_id,
    from rows_to_apply
    inner join memberships on memberships.user_id = rows_to_apply.user_id
    inner join rules_with_a_value on rules_with_a_value.row_number = rows_to_apply.row_number
    inner join managed_groups
        on managed_groups.rule_number = rules_with_a_value.rule_number and managed_groups.group_id = memberships.group_id
    cross join settings
    where not exists (
            select 1 from desired_memberships
            where desired_memberships.row_number = rows_to_apply.row_number and desired_memberships.group_id = memberships.group_id
        )
        and (
            settings.leave_groups = 'managed'
            or exists (
                select 1 from joined_by_sync
                where joined_by_sync.external_id = rows_to_apply.external_id and joined_by_sync.group_id = memberships.group_id
            )
        )
),

final as (
    select
        'join_group:' || joins.external_id || ':' || joins.group_id as action_key,
        4 as step,
        'join_group' as action,
        joins.external_id as external_id,
        joins.user_id as learnupon_user_id,
        joins.group_id as group_id,
        cast(null as bigint) as membership_id,
        joins.row_number as row_number,
    from joins
    union all
    select
        'leave_group:' || leaves.external_id || ':' || leaves.group_id,
        4,
        'leave_group',
        leaves.external_id,
        leaves.user_id,
        leaves.group_id,
        leaves.membership_id,
        leaves.row_number,
    from leaves
)

select * from final
