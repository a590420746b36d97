-- Active roster rows whose email (or, on a username portal, username) LearnUpon has on another
-- user today, and how each is resolved: `freed_by_update` (the holder's own update moves it to an
-- email nobody holds, and runs first), `placeholder` (the holder has an external id and
-- email_conflicts = placeholder: it is renamed first) or `conflict` (reported, the row skipped).
with

settings as (
    {{ sync_settings() }}
),

wanted as (
    -- the rows that want an account the sync can identify
    select * from {{ ref('sync_matches') }} as matches
    where matches.is_active and matches.match_rule <> 'ambiguous_external_id'
),

users as (
    select * from {{ ref('sync_users') }}
),

email_holders as (
    select
        wanted.row_number as row_number,
        wanted.external_id as external_id,
        wanted.email as value,
        holders.user_id as holder_id,
        holders.external_id as holder_external_id,
        holders.email as holder_email,
    from wanted
    inner join users as holders on holders.email_key = wanted.email_key
    where holders.user_id is distinct from wanted.user_id
),

free_movers as (
    -- users whose own email change takes an email nobody holds: they go first and free the old one
    select wanted.user_id as user_id
    from wanted
    where wanted.user_id is not null
        and wanted.email_key is not null
        and wanted.email_key is distinct from wanted.current_email_key
        and not exists (select 1 from email_holders where email_holders.row_number = wanted.row_number)
),

email_conflicts as (
    select
        email_holders.row_number as row_number,
        email_holders.external_id as external_id,
        'email' as identifier,
        email_holders.value as value,
        email_holders.holder_id as holder_id,
        email_holders.holder_external_id as holder_external_id,
        email_holders.holder_email as holder_email,
        case
            when free_movers.user_id is not null then 'freed_by_update'
            when email_holders.holder_external_id is null then 'conflict'
            when settings.email_conflicts = 'placeholder' then 'placeholder'
            else 'conflict'
        end as resolution,
    from email_holders
    left join free_movers on free_movers.user_id = email_holders.holder_id
    cross join settings
),

username_conflicts as (
    -- a username is never freed: always reported
    select
        wanted.row_number as row_number,
        wanted.external_id as external_id,
        'username' as identifier,
        wanted.username as value,
        holders.user_id as holder_id,
        holders.external_id as holder_external_id,
        holders.email as holder_email,
        'conflict' as resolution,
    from wanted
    cross join settings
    inner join users as holders on holders.username_key = wanted.username_key
    where settings.identify_by = 'username' and holders.user_id is distinct from wanted.user_id
),

final as (
    select * from email_conflicts
    union all
    select * from username_conflicts
)

select * from final
