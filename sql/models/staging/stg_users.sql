with

versions as (
    select * from {{ personal_rows(source('learnupon', 'users')) }}
),

ranked as (
    select
        versions.*,
        bool_or(versions._dlt_valid_to is null) over (partition by versions.portal, versions.id) as has_current_version,
        max(versions._dlt_valid_to) over (partition by versions.portal, versions.id) as last_valid_to,
        row_number() over (
            partition by versions.portal, versions.id
            order by
                versions._dlt_valid_to is null desc,
                versions._dlt_valid_to desc,
                versions._dlt_valid_from desc
        ) as version_rank
    from versions
),

final as (
    select
        ranked.portal as portal,
        ranked.id as user_id,
        ranked.first_name as first_name,
        ranked.last_name as last_name,
        coalesce(
            nullif(trim(ranked.display_name), ''),
            nullif(trim(concat_ws(' ', ranked.first_name, ranked.last_name)), ''),
            ranked.email
        ) as full_name,
        ranked.email as email,
        lower(trim(ranked.email)) as email_normalized,
        ranked.username as username,
        ranked.user_type as user_type,
        ranked.membership_type as membership_type,
        ranked.locale as locale,
        ranked.timezone_id as timezone_id,
        coalesce(ranked.enabled, true) as is_enabled,
        not ranked.has_current_version as is_deleted,
        case when not ranked.has_current_version then ranked.last_valid_to end as deleted_at,
        ranked.created_at as created_at,
        ranked.updated_at as updated_at,
        ranked.last_sign_in_at as last_sign_in_at,
        coalesce(ranked.sign_in_count, 0) as sign_in_count,
        ranked.account_expires as account_expires_at,
        ranked.number_of_enrollments as enrollments_count,
        ranked.number_of_enrollments_accessed as enrollments_accessed_count,
        ranked.number_of_points as points,
        ranked.number_of_badges as badges_count,
        ranked.can_enroll as can_enroll,
        ranked.can_unenroll_users as can_unenroll_users,
        ranked.can_mark_complete as can_mark_complete,
        ranked.can_move_groups as can_move_groups,
        ranked.can_act_as_instructor as can_act_as_instructor,
        ranked.can_manage_trainings as can_manage_trainings,
        ranked.can_manage_sessions as can_manage_sessions,
        ranked.sf_contact_id as salesforce_contact_id,
        ranked.sf_user_id as salesforce_user_id,
        coalesce(ranked.is_salesforce_contact, false) as is_salesforce_contact,
        ranked._dlt_valid_from as version_valid_from_at
    from ranked
    where ranked.version_rank = 1
)

select * from final
