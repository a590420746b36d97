-- The roster of this sync run (hr.roster rows stamped with the run id the mapping names) in long
-- form: one row per non-blank cell. The mapping picks its columns from here.
with

settings as (
    {{ sync_settings() }}
),

roster as (
    select roster.* exclude (run_id)
    from {{ source('hr', 'roster') }} as roster
    where roster.run_id = (select settings.roster_run_id from settings)
),

final as (
    select
        cells.row_number as row_number,
        cells.column_name as column_name,
        nullif(trim(cells.value), '') as value,
    from (
        unpivot roster
        on columns(* exclude (row_number))
        into name column_name value value
    ) as cells
    where nullif(trim(cells.value), '') is not null
)

select * from final
