-- The roster rows the sync acts on: valid, active, matched without ambiguity, and with no email or
-- username conflict (those are reported instead). takes_held_email: the row's email is freed
-- first (by its holder's update or a placeholder), so its own write waits a step.
with

matches as (
    select * from {{ ref('sync_matches') }}
),

conflicts as (
    select * from {{ ref('sync_identifier_conflicts') }}
),

final as (
    select
        matches.*,
        exists (
            select 1 from conflicts
            where conflicts.row_number = matches.row_number and conflicts.identifier = 'email'
        ) as takes_held_email,
    from matches
    where matches.is_active
        and matches.match_rule <> 'ambiguous_external_id'
        and not exists (
            select 1 from conflicts
            where conflicts.row_number = matches.row_number and conflicts.resolution = 'conflict'
        )
)

select * from final
