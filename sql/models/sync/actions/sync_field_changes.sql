-- Per matched roster row and field, what its update changes in LearnUpon: the user's own fields
-- (names, email, the username on a username portal, enabled for someone back in the roster) and
-- the custom fields the mapping sets. Blank roster cells change nothing; numbers and dates
-- compare by value.
with

settings as (
    {{ sync_settings() }}
),

matched as (
    select * from {{ ref('sync_rows_to_apply') }} as rows_to_apply
    where rows_to_apply.user_id is not null
),

roster_fields as (
    select * from {{ ref('sync_roster_fields') }}
),

user_values as (
    select * from {{ ref('sync_user_values') }}
),

own_fields as (
    select matched.row_number, matched.user_id, 'first_name' as field, matched.current_first_name as from_value, matched.first_name as to_value
    from matched
    where matched.first_name is not null and matched.first_name is distinct from matched.current_first_name
    union all
    select matched.row_number, matched.user_id, 'last_name', matched.current_last_name, matched.last_name
    from matched
    where matched.last_name is not null and matched.last_name is distinct from matched.current_last_name
    union all
    select matched.row_number, matched.user_id, 'email', matched.current_email, matched.email
    from matched
    where matched.email is not null and matched.email_key is distinct from matched.current_email_key
    union all
    select matched.row_number, matched.user_id, 'username', matched.current_username, matched.username
    from matched
    cross join settings
    where settings.identify_by = 'username' and matched.username is not null
        and matched.username_key is distinct from matched.current_username_key
    union all
    select matched.row_number, matched.user_id, 'enabled', 'false', 'true'
    from matched
    where not matched.is_enabled
),

custom_fields as (
    select
        matched.row_number as row_number,
        matched.user_id as user_id,
        'CustomData.' || roster_fields.field_label as field,
        roster_fields.definition_id as definition_id,
        roster_fields.field_label as field_label,
        roster_fields.type_id as type_id,
        current_values.value as from_value,
        roster_fields.value as to_value,
    from matched
    inner join roster_fields on roster_fields.row_number = matched.row_number
    left join user_values as current_values
        on current_values.user_id = matched.user_id and current_values.definition_id = roster_fields.definition_id
    where not coalesce(
        case
            when roster_fields.type_id in (2, 3, 5, 6)
                then try_cast(current_values.value as double) = try_cast(roster_fields.value as double)
            when roster_fields.type_id = 7
                then try_cast(current_values.value as date) = try_cast(roster_fields.value as date)
            else current_values.value = roster_fields.value
        end,
        false
    )
),

final as (
    -- own fields first, in the order above, then custom fields by definition id: the order of `changes`
    select
        row_number, user_id, field, from_value, to_value,
        list_position(['first_name', 'last_name', 'email', 'username', 'enabled'], field) as field_order,
    from own_fields
    union all by name
    select *, 5 + row_number() over (partition by custom_fields.row_number order by custom_fields.definition_id) as field_order,
    from custom_fields
)

select * from final
