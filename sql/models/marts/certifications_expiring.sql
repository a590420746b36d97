with

as_of as (
    select {{ as_of_date() }} as as_of_date
),

users as (
    select * from {{ ref('stg_users') }}
),

-- per user and family, the completion that keeps them compliant longest (see the staging model)
best_certificate as (
    select * from {{ ref('int_best_completions') }}
),

dated as (
    select
        best_certificate.portal as portal,
        as_of.as_of_date as as_of_date,
        best_certificate.user_id as user_id,
        users.full_name as user_full_name,
        users.email as user_email,
        best_certificate.course_family_id as course_family_id,
        best_certificate.course_family_name as course_family_name,
        best_certificate.course_id as course_id,
        best_certificate.course_version as course_version,
        best_certificate.enrollment_id as enrollment_id,
        best_certificate.certificate_name as certificate_name,
        cast(best_certificate.completed_at at time zone 'UTC' as date) as completed_date,
        cast(best_certificate.certificate_expires_at at time zone 'UTC' as date) as certificate_expires_date
    from best_certificate
    cross join as_of
    left join users on users.portal = best_certificate.portal and users.user_id = best_certificate.user_id
    where best_certificate.certificate_expires_at is not null
        and not coalesce(users.is_deleted, false)
),

final as (
    select
        dated.*,
        dated.certificate_expires_date - dated.as_of_date as days_to_expiry,
        case
            when dated.certificate_expires_date < dated.as_of_date then 'expired'
            when dated.certificate_expires_date - dated.as_of_date <= 30 then '0-30'
            when dated.certificate_expires_date - dated.as_of_date <= 60 then '31-60'
            else '61-90'
        end as expiry_bucket,
        {{ year_month('dated.certificate_expires_date') }} as expiry_month
    from dated
    where dated.certificate_expires_date - dated.as_of_date <= 90
)

select * from final
