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


# ---- coverage resources ------------------------------------------------------
# Table names are the raw tables in the `learnupon` dataset; the comment on each
# gives its grain and key. Link tables that only a full listing can show
# deletions of are SCD2 (current rows: _dlt_valid_to is null).

GROUPS = {  # one row per group; id
    "id": "int",
    "title": "text",
    "description": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "number_of_members": "int",
}

GROUP_MEMBERSHIPS = {  # SCD2; one current row per (group_id, user_id)
    "group_id": "int",
    "user_id": "int",
    "membership_id": "int",  # version_id=1.1 returns it as `id`; without 1.1 `id` is the user id
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "username": "text",
    "created_at": "timestamp",
    "row_hash": "text",
}

GROUP_COURSES = {  # SCD2; one current row per GroupCourse id (the link that makes a course required)
    "id": "int",
    "group_id": "int",
    "course_id": "int",
    "group_title": "text",
    "course_name": "text",
    "row_hash": "text",
}

GROUP_MANAGERS = {  # SCD2; one current row per GroupManager id
    "id": "int",
    "group_id": "int",
    "user_id": "int",
    "can_create_users": "bool",
    "group_title": "text",
    "number_of_members": "int",
    "number_of_courses": "int",
    "email": "text",
    "username": "text",
    "first_name": "text",
    "last_name": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "row_hash": "text",
}

COURSE_INSTRUCTORS = {  # SCD2; one current row per CourseInstructor id
    "id": "int",
    "course_id": "int",
    "user_id": "int",
    "course_name": "text",
    "version": "int",
    "enrollment_count": "int",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "row_hash": "text",
}

MODULES = {  # one row per (course_id, id, session_key): a module as placed in a course version, per live session
    "course_id": "int",
    "id": "int",
    "session_key": "int",  # the row's session_id, or 0 when it has none (a key column cannot be NULL)
    "title": "text",
    "component_type": "text",
    "exam_id": "int",
    "sequence": "int",
    "tags": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "number_of_linked_courses": "int",
    "description_text": "text",
    "creator_id": "int",
    "assignment_passing_percentage": "float",
    "location_id": "int",
    "location": "text",
    "start_at": "timestamp",
    "end_at": "timestamp",
    "timezone": "text",
    "number_enrolled_on_session": "int",
    "max_capacity": "int",
    "session_tutor_id": "int",
    "training_id": "int",
    "session_id": "int",
}

LEARNING_PATHS = {  # one row per learning path; id
    "id": "int",
    "name": "text",
    "created_at": "timestamp",
    "sellable": "bool",
    "cataloged": "bool",
    "date_published": "timestamp",
    "published_status_id": "text",
    "difficulty_level": "text",
    "description_text": "text",
    "credits_to_be_awarded": "text",
    "due_days_after_enrollment": "int",
    "due_date_after_enrollment": "timestamp",
    "minute_length": "float",
    "path_length_unit": "text",
    "price": "float",
    "keywords": "text",
}

LEARNING_PATH_COURSES = {  # SCD2; one current row per (learning_path_id, course_id)
    "learning_path_id": "int",
    "course_id": "int",
    "name": "text",
    "sequence": "int",
    "row_hash": "text",
}

LEARNING_PATH_ENROLLMENTS = {  # one row per LP enrollment; id; incremental on updated_at like enrollments
    "id": "int",
    "lp_id": "int",
    "lp_name": "text",
    "user_id": "int",
    "status": "text",
    "percentage": "float",
    "date_enrolled": "timestamp",
    "date_started": "timestamp",
    "date_completed": "timestamp",
    "date_lastaccessed": "timestamp",
    "due_date": "timestamp",
    "certificate_name": "text",
    "cert_expires_at": "timestamp",
    "was_recertified": "bool",
    "unenrolled": "bool",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "username": "text",
    "updated_at": "timestamp",
}

EXAMS = {  # one row per exam or survey; exam_id (a module id)
    "exam_id": "int",
    "name": "text",
    "is_survey": "bool",
    "is_knowledge_check": "bool",
    "is_timed_exam": "bool",
    "time_for_exam": "float",
    "pass_mark": "float",
    "pass_percentage": "float",
    "attempts": "text",  # an integer, or "unlimited" as in the reference's sample
}

EXAM_QUESTIONS = {  # one row per (exam_id, question_id)
    "exam_id": "int",
    "question_id": "int",
    "question_text": "text",
    "question_type": "text",
    "question_choice_type": "text",
    "points": "float",
}

EXAM_QUESTION_OPTIONS = {  # one row per (exam_id, question_id, answer_id): the answer options offered
    "exam_id": "int",
    "question_id": "int",
    "answer_id": "int",
    "answer_text": "text",
    "is_correct": "bool",  # the reference returns 1/0
    "for_matching": "text",
    "sequence": "int",
    "predefined_answers": "text",
    "rating_options": "json",  # a statement's rating scale as sent; the scale's options are rows of their own
    "is_rating_option": "bool",  # an option of a survey rating question's scale (the reference's rating_options)
}

EXAM_ENROLLMENTS = {  # one row per exam_enrollment_id
    "exam_enrollment_id": "int",
    "exam_id": "int",
    "user_id": "int",
    "portal_membership_id": "int",
    "status": "text",
    "attempts_used": "int",
    "time_taken": "float",
    "score": "float",
    "date_completed": "timestamp",
}

EXAM_ANSWERS = {  # one row per (exam_enrollment_id, question_id): a learner's answer
    "exam_enrollment_id": "int",
    "exam_id": "int",
    "question_id": "int",
    "question_text": "text",
    "overall_status": "text",  # decoded to correct / incorrect / not_attempted from either documented form
    "given_answer": "text",  # the given answers joined with " | " (list in given_answers_json)
    "correct_answer": "text",
    "given_answers_json": "json",
    "correct_answers_json": "json",
    "user": "text",
    "email": "text",
}

EXAM_ANSWER_FETCHES = {  # one row per exam_enrollment_id: whose answers were fetched, at which fingerprint
    "exam_enrollment_id": "int",
    "exam_id": "int",
    "fingerprint": "text",
    "fetched_at": "timestamp",
}

ASSIGNMENT_ANSWERS = {  # one row per answer id
    "id": "int",
    "assignment_id": "int",
    "user_id": "int",
    "status": "text",
    "score": "float",
    "answer": "text",
    "feedback": "text",
    "answer_submitted_at": "timestamp",
    "reviewed_at": "timestamp",
    "was_rejected": "bool",
    "rejected_at": "timestamp",
    "was_autocompleted": "bool",
    "reviewed_by_user_id": "int",
    "rejected_by_user_id": "int",
}

MARKCOMPLETES = {  # one row per MarkComplete id
    "id": "int",
    "enrollment_id": "int",
    "course_id": "int",
    "user_id": "int",  # who marked it (NULL when created through the API)
    "status": "text",
    "percentage": "float",
    "date_completed": "timestamp",
    "created_at": "timestamp",
    "notes": "text",
    "action_source_type": "text",
}

SESSIONS = {  # one row per live-learning session; session_id (search fields + detail fields)
    "session_id": "int",
    "event_id": "int",
    "course_id": "int",
    "course_name": "text",
    "component_title": "text",
    "session_title": "text",
    "description": "text",
    "start_date": "timestamp",
    "end_date": "timestamp",
    "start_time_local": "text",  # detail start_time, in the session's own time zone
    "end_time_local": "text",
    "timezone": "text",
    "session_type": "text",
    "location_id": "int",
    "location_title": "text",
    "max_capacity": "int",
    "min_capacity": "int",
    "num_enrolled": "int",
    "number_of_attendees": "int",
    "instructor_name": "text",
    "completion_requirement": "text",
    "minimum_attendance_threshold": "float",
    "webinar_connection_name": "text",
    "webinar_title": "text",
    "created_at": "timestamp",
}

SESSION_INSTRUCTORS = {  # SCD2; one current row per (session_id, user_id)
    "session_id": "int",
    "user_id": "int",
    "is_primary": "bool",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "username": "text",
    "row_hash": "text",
}

SESSION_ATTENDANCE = {  # one row per (session_id, user_id)
    "session_id": "int",
    "user_id": "int",
    "pm_id": "int",
    "session_status": "int",  # -10 not_registered, 10 not_started, 20 completed, 30 failed, 40 no_show
    "session_status_label": "text",
}

SESSION_ATTENDANCE_PARTS = {  # one row per (session_id, user_id, part)
    "session_id": "int",
    "user_id": "int",
    "part": "int",
    "status": "int",  # 0 unmarked, 5 absent, 10 present
    "status_label": "text",
    "minutes": "float",
}

SESSION_ATTENDANCE_ENROLLMENTS = {  # one row per (session_id, user_id, enrollment_id)
    "session_id": "int",
    "user_id": "int",
    "enrollment_id": "int",
    "course_id": "int",  # `course` in the API
    "enrollment_status": "int",  # -4 waitlisted ... 8 past_due
    "enrollment_status_label": "text",
    "from_catalog": "bool",
    "from_store": "bool",
}

ILT_SESSIONS = {  # legacy ILT sessions: no id in the API; ilt_key = hash of course, title and start
    "ilt_key": "text",
    "course_id": "int",
    "course_name": "text",
    "session_enrollment_type": "int",
    "component_title": "text",
    "description": "text",
    "start_date": "timestamp",
    "end_date": "timestamp",
    "created_at": "timestamp",
    "max_capacity": "int",
    "instructor_name": "text",
    "location_id": "int",
    "location_title": "text",
    "timezone": "text",
    "session_type": "text",
    "webinar_connection_name": "text",
    "webinar_display_name": "text",
    "webinar_title": "text",
}

LOCATIONS = {  # one row per location; id (address_1 and address1 both read)
    "id": "int",
    "title": "text",
    "address1": "text",
    "address2": "text",
    "address3": "text",
    "timezone": "text",
    "country_code": "text",
    "notes": "text",
}

TIMEZONES = {"id": "text", "name": "text"}  # one row per time zone id

BADGES = {  # one row per badge; id
    "id": "int",
    "name": "text",
    "points": "int",
    "is_used": "bool",
    "badge_type_id": "int",
    "badge_type": "text",
    "created_by": "int",
    "updated_by": "int",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "image_url": "text",
}

CERTIFICATIONS = {"guid": "text", "title": "text"}  # one row per certificate; guid

USER_AWARDS = {  # SCD2; one current row per (user_id, badge_id)
    "user_id": "int",
    "badge_id": "int",
    "badge_name": "text",
    "badge_count": "int",
    "total_points": "int",
    "row_hash": "text",
}

LEADERBOARD_SNAPSHOTS = {  # one row per (snapshot_date, user_id): appended daily, so history accumulates
    "snapshot_date": "text",  # YYYY-MM-DD (UTC) of the run that took it
    "user_id": "int",
    "login": "text",
    "name": "text",
    "position": "int",
    "level": "text",
    "total_points": "int",
    "total_badges": "int",
    "taken_at": "timestamp",
}

AUDIT_TRAILS = {  # one row per event; event_key = hash of all its fields (events have no id)
    "event_key": "text",
    "action": "int",
    "action_label": "text",
    "initiated_by_user": "text",
    "initiated_by_user_email": "text",
    "impacted_user": "text",
    "impacted_user_email": "text",
    "impacted_data": "text",
    "date_and_time_utc": "timestamp",
}

AUDIT_GAPS = {  # one row per window of audit events lost for good (the API keeps 30 days)
    "gap_start": "timestamp",
    "gap_end": "timestamp",
    "noticed_at": "timestamp",
    "run_id": "text",
}

CONTRACT_DRIFT = {  # per run and table: a field the API sent that this spec does not know, or a field it never sent
    "run_id": "text",
    "table_name": "text",
    "endpoint": "text",
    "field": "text",
    "drift": "text",  # "unexpected field" or "expected field missing"
    "records": "int",  # records of the run that carried it (unexpected) or that were read (missing)
    "example": "text",  # one value, personal data masked
}

PORTALS = {  # SCD2; one current row per portal of the realm GET /portals lists (its sub-portals); id
    "id": "int",
    "title": "text",
    "subdomain": "text",
    "created_at": "timestamp",
    "updated_at": "timestamp",
    "allow_course_authoring": "bool",
    "number_of_members": "int",
    "number_licenses_purchased": "int",
    "number_licenses_used": "int",
    "logo_image_url": "text",
    "header_color": "text",
    "navigation_color": "text",
    "row_hash": "text",
}

CODE_LOOKUPS = {  # documented integer codes and their labels; (code_type, code)
    "code_type": "text",
    "code": "int",
    "label": "text",
}
