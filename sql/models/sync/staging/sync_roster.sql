-- One row per roster row: the columns that identify a person, whether the row is active, and
-- why it is invalid (reported, never applied) if it is. Blank cells are null.
with

settings as (
    {{ sync_settings() }}
),

cells as (
    select * from {{ ref('sync_roster_cells') }}
),

roster_fields as (
    select * from {{ ref('sync_roster_fields') }}
),

roster_rows as (
    select
        cells.row_number as row_number,
        max(cells.value) filter (where cells.column_name = settings.external_id_column) as external_id,
        max(cells.value) filter (where cells.column_name = settings.email_column) as email,
        max(cells.value) filter (where cells.column_name = settings.username_column) as username,
        max(cells.value) filter (where cells.column_name = settings.first_name_column) as first_name,
        max(cells.value) filter (where cells.column_name = settings.last_name_column) as last_name,
        max(cells.value) filter (where cells.column_name = settings.active_column) as active_text,
        max(cells.value) filter (where cells.column_name = settings.manager_column) as manager_external_id,
    from cells
    cross join settings
    group by cells.row_number
),

row_problems as (
    select roster_rows.row_number, 'no external id (' || settings.external_id_column || ')' as problem
    from roster_rows cross join settings
    where roster_rows.external_id is null
    union all
    select counted.row_number, 'external id ' || counted.external_id || ' is on ' || counted.rows_with_id || ' rows'
    from (
        select roster_rows.*, count(*) over (partition by roster_rows.external_id) as rows_with_id,
        from roster_rows
        where roster_rows.external_id is not null
    ) as counted
    where counted.rows_with_id > 1
    union all
    -- the portal's identifier is required; an email only where it is the identifier, or where an invitation needs one
    select roster_rows.row_number, 'no email'
    from roster_rows cross join settings
    where roster_rows.email is null and settings.identify_by = 'email'
    union all
    select roster_rows.row_number, 'no email (new_users = invite sends invitations by email)'
    from roster_rows cross join settings
    where roster_rows.email is null and settings.identify_by = 'username' and settings.new_users = 'invite'
    union all
    select roster_rows.row_number, 'no username (' || coalesce(settings.username_column, 'username') || ')'
    from roster_rows cross join settings
    where roster_rows.username is null and settings.identify_by = 'username'
    union all
    select roster_rows.row_number, 'email ' || roster_rows.email || ' is not a valid address'
    from roster_rows
    where not regexp_full_match(roster_rows.email, '[^@\s]+@[^@\s]+\.[^@\s]+')
    union all
    -- LearnUpon: 6-30 letters, digits or + - . , $ # @ _ (3 on request): the widest reading is checked here
    select roster_rows.row_number, 'username ' || roster_rows.username || ' is not a valid username'
    from roster_rows
    where not regexp_full_match(roster_rows.username, '[\pL\pN_+\-.,$#@]{3,30}')
    union all
    select counted.row_number, 'email ' || counted.email || ' is on ' || counted.rows_with_email || ' rows'
    from (
        select roster_rows.*, count(*) over (partition by lower(roster_rows.email)) as rows_with_email,
        from roster_rows
        where roster_rows.email is not null
    ) as counted
    where counted.rows_with_email > 1
    union all
    select counted.row_number, 'username ' || counted.username || ' is on ' || counted.rows_with_username || ' rows'
    from (
        select roster_rows.*, count(*) over (partition by lower(roster_rows.username)) as rows_with_username,
        from roster_rows
        where roster_rows.username is not null
    ) as counted
    where counted.rows_with_username > 1
    union all
    select roster_rows.row_number, settings.active_column || ' must be true or false, not ' || coalesce(roster_rows.active_text, 'blank')
    from roster_rows cross join settings
    where settings.active_column is not null
        and lower(coalesce(roster_rows.active_text, '')) not in ('true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', '1', '0')
    union all
    select roster_fields.row_number,
        roster_fields.column_name || ' ' || roster_fields.value || ' is not a valid value for LearnUpon field '
            || roster_fields.field_label
            || coalesce(' (one of ' || array_to_string(roster_fields.predefined_values, ', ') || ')', '')
    from roster_fields
    where not roster_fields.is_accepted
),

invalid_rows as (
    select
        row_problems.row_number as row_number,
        string_agg(row_problems.problem, '; ' order by row_problems.problem) as reason,
    from row_problems
    group by row_problems.row_number
),

final as (
    select
        roster_rows.row_number as row_number,
        roster_rows.external_id as external_id,
        roster_rows.email as email,
        lower(roster_rows.email) as email_key,
        roster_rows.username as username,
        lower(roster_rows.username) as username_key,
        roster_rows.first_name as first_name,
        roster_rows.last_name as last_name,
        roster_rows.manager_external_id as manager_external_id,
        settings.active_column is null
            or lower(roster_rows.active_text) in ('true', 't', 'yes', 'y', '1') as is_active,
        invalid_rows.reason is null as is_valid,
        invalid_rows.reason as invalid_reason,
    from roster_rows
    cross join settings
    left join invalid_rows on invalid_rows.row_number = roster_rows.row_number
)

select * from final
