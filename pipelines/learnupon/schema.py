"""Column specs of the raw tables, taken from the attribute tables of the API reference.

Kinds: int, float, bool, text, timestamp (UTC), json (nested values kept as JSON text).
A field the API returns that is not listed here still lands, as a text column.
Numbers documented as integer scores or percentages are floats, so a 87.5 is not
rejected.
"""

from __future__ import annotations

USERS = {
    "id": "int",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "username": "text",
    "display_name": "text",
    "locale": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "last_sign_in_at": "timestamp",
    "account_expires": "timestamp",
    "sign_in_count": "int",
    "enabled": "bool",
    "timezone_id": "text",
    "user_type": "text",
    "can_enroll": "bool",
    "can_unenroll_users": "bool",
    "can_mark_complete": "bool",
    "can_move_groups": "bool",
    "can_act_as_instructor": "bool",
    "can_manage_trainings": "bool",
    "can_manage_sessions": "bool",
    "tutor_can_edit_their_courses": "bool",
    "tutor_can_create_courses": "bool",
    "number_of_enrollments": "int",
    "number_of_enrollments_accessed": "int",
    "membership_type": "text",
    "number_of_points": "int",
    "number_of_badges": "int",
    "sf_contact_id": "text",
    "sf_user_id": "text",
    "is_salesforce_contact": "bool",
    "row_hash": "text",
}

# keys of a user record that go to the user_custom_data table instead
USER_CUSTOM_DATA_KEYS = ("customDataFieldValues", "CustomData", "custom_data", "customData")

USER_CUSTOM_DATA = {
    "user_id": "int",
    "definition_id": "int",
    "label": "text",
    "value": "text",
    "row_hash": "text",
}

CUSTOM_USER_FIELDS = {
    "id": "int",
    "type_id": "int",
    "label": "text",
    "predefined_values": "json",
}

COURSES = {
    "id": "int",
    "name": "text",
    "version": "int",
    "source_id": "int",
    "created_at": "timestamp",
    "sellable": "bool",
    "cataloged": "bool",
    "date_published": "timestamp",
    "keywords": "text",
    "reference_code": "text",
    "manager_can_enroll": "bool",
    "allow_users_rate_course": "bool",
    "number_of_reviews": "int",
    "number_of_stars": "int",
    "minute_length": "float",
    "course_length_unit": "text",
    "num_enrolled": "int",
    "num_not_started": "int",
    "num_in_progress": "int",
    "num_completed": "int",
    "num_passed": "int",
    "num_failed": "int",
    "num_pending_review": "int",
    "number_of_modules": "int",
    "price": "float",
    "published_status_id": "text",
    "difficulty_level": "text",
    "description_html": "text",
    "description_text": "text",
    "objectives_html": "text",
    "objectives_text": "text",
    "credits_to_be_awarded": "text",
    "due_days_after_enrollment": "int",
    "due_date_after_enrollment": "timestamp",
    "send_due_date_reminders": "bool",
    "due_date_reminder_days": "int",
    "due_date_reminder_days_2": "int",
    "thumbnail_image_url": "text",
    "license_expires": "timestamp",
    "license_number_enrollments_purchased": "int",
    "license_is_open_ended": "bool",
    "license_has_unlimited_enrollments": "bool",
    "owner_first_name": "text",
    "owner_last_name": "text",
    "owner_email": "text",
    "owner_id": "int",
    "learning_awards": "json",
    "customDataFieldValues": "json",
}

ENROLLMENTS = {
    "id": "int",
    "user_id": "int",
    "course_id": "int",
    "course_name": "text",
    "course_source_id": "int",
    "version": "int",
    "status": "text",
    "percentage": "float",
    "percentage_complete": "float",
    "date_enrolled": "timestamp",
    "date_started": "timestamp",
    "date_completed": "timestamp",
    "date_lastaccessed": "timestamp",
    "due_date": "timestamp",
    "is_overdue": "bool",
    "course_access_expires_at": "timestamp",
    "certificate_name": "text",
    "cert_expires_at": "timestamp",
    "was_recertified": "bool",
    "unenrolled": "bool",
    "from_store": "bool",
    "from_catalog": "bool",
    "group_id": "int",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "username": "text",
    "updated_at": "timestamp",
}

DATA_ISSUES = {
    "table_name": "text",
    "record_key": "text",
    "column_name": "text",
    "raw_value": "text",
    "problem": "text",
    "noticed_at": "timestamp",
}
