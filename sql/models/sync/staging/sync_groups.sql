-- The groups on the portal at the last groups load (a deleted group keeps an older _dlt_load_id),
-- one per title: the sync finds a group by its title, case and surrounding blanks aside, and the
-- lowest id wins when two share one. The sync's portal only.
with

all_groups as (
    select *
    from {{ optional_source('learnupon', 'groups', [['portal', 'varchar'], ['id', 'bigint'], ['title', 'varchar'], ['_dlt_load_id', 'varchar']]) }} as raw
    where {{ sync_portal_rows('raw') }}
),

final as (
    select
        all_groups.id as group_id,
        all_groups.title as group_title,
        lower(trim(all_groups.title)) as title_key,
    from all_groups
    where all_groups._dlt_load_id = (select max(latest._dlt_load_id) from all_groups as latest)
    qualify row_number() over (partition by lower(trim(all_groups.title)) order by all_groups.id) = 1
)

select * from final
