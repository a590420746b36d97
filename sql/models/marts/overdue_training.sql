with

compliance as (
    select * from {{ ref('compliance_status') }}
),

-- required training that is overdue and not covered by a valid completion: never completed, or
-- completed once with a certificate that has since expired and a re-enrollment now past due
final as (
    select
        compliance.portal as portal,
        compliance.as_of_date as as_of_date,
        compliance.user_id as user_id,
        compliance.user_full_name as user_full_name,
        compliance.user_email as user_email,
        compliance.course_family_id as course_family_id,
        compliance.course_family_name as course_family_name,
        case compliance.compliance_state
            when 'expired' then 'certificate_expired_and_reenrollment_overdue'
            else 'not_completed_by_due_date'
        end as overdue_reason,
        compliance.is_required_by_group as is_required_by_group,
        compliance.required_by_group_ids as required_by_group_ids,
        compliance.required_by_groups as required_by_groups,
        compliance.latest_enrollment_id as latest_enrollment_id,
        compliance.latest_course_id as latest_course_id,
        compliance.latest_course_version as latest_course_version,
        compliance.latest_status as latest_status,
        compliance.enrolled_date as enrolled_date,
        compliance.due_date as due_date,
        compliance.is_overdue_on_portal as is_overdue_on_portal,
        compliance.is_overdue_by_due_date as is_overdue_by_due_date,
        compliance.completed_date as completed_date,
        compliance.certificate_expires_date as certificate_expires_date,
        compliance.compliance_state as compliance_state,
        compliance.days_overdue as days_overdue,
        case
            when compliance.days_overdue <= 30 then '1-30'
            when compliance.days_overdue <= 60 then '31-60'
            when compliance.days_overdue <= 90 then '61-90'
            else '90+'
        end as overdue_bucket
    from compliance
    where compliance.is_overdue
        and compliance.compliance_state in ('overdue', 'expired')
)

select * from final
