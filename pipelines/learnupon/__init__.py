"""The `learnupon` dlt source.

Resources (each is its own Dagster asset and can be chosen per run) and the
tables they write; the README has keys, strategies and call costs:

  users                    users, user_custom_data (SCD2), custom_user_fields
  groups, group_memberships, group_courses, group_managers, course_instructors
  courses                  courses (every version)      modules
  learning_paths           learning_paths, learning_path_courses
  enrollments, learning_path_enrollments (incremental on updated_at)
  exams                    exams, exam_questions, exam_question_options
  exam_enrollments, exam_answers (+ exam_answer_fetches), assignment_answers, markcompletes
  sessions (+ session_instructors), session_attendance (+ parts, enrollments), ilt_sessions
  locations, timezones, badges, certifications, user_awards, leaderboard_snapshots
  audit_trails (+ audit_gaps), code_lookups

Every resource yields Arrow tables (see arrow.py), so dlt loads Parquet without
its row-by-row normalizer. The order below matters only for cost: resources run
one after another (dlt's fifo mode), and a list one of them fetched (courses,
groups, modules, the users' award keys) is reused by those after it.
"""

from __future__ import annotations

import dlt
from dlt.sources import DltResource

from .context import ExtractContext
from .resources.audit import audit_trails_resource
from .resources.catalog import courses_resource, learning_paths_resource, modules_resource
from .resources.enrollments import enrollments_resource, learning_path_enrollments_resource
from .resources.exams import (
    assignment_answers_resource,
    exam_answers_resource,
    exam_enrollments_resource,
    exams_resource,
)
from .resources.gamification import leaderboard_resource, user_awards_resource
from .resources.groups import group_memberships_resource
from .resources.listings import listing_resource
from .resources.live_learning import ilt_sessions_resource, session_attendance_resource, sessions_resource
from .resources.lookups import code_lookups_resource
from .resources.people import users_resource
from .settings import LISTINGS
from .tables import table_resources


def _resources(context: ExtractContext) -> list[DltResource]:
    listings = {listing.resource: listing_resource(context, listing) for listing in LISTINGS}
    return [
        users_resource(context),
        listings["groups"],
        group_memberships_resource(context),
        listings["group_courses"],
        listings["group_managers"],
        courses_resource(context),
        listings["course_instructors"],
        modules_resource(context),
        learning_paths_resource(context),
        # before the enrollment searches: its "User unenrolled" events tell them whom to re-read
        audit_trails_resource(context),
        enrollments_resource(context),
        learning_path_enrollments_resource(context),
        exams_resource(context),
        exam_enrollments_resource(context),
        exam_answers_resource(context),
        assignment_answers_resource(context),
        listings["markcompletes"],
        sessions_resource(context),
        session_attendance_resource(context),
        ilt_sessions_resource(context),
        listings["locations"],
        listings["timezones"],
        listings["badges"],
        listings["certifications"],
        user_awards_resource(context),
        leaderboard_resource(context),
        code_lookups_resource(context),
    ]


ALL_RESOURCES = (
    "users", "groups", "group_memberships", "group_courses", "group_managers", "courses", "course_instructors",
    "modules", "learning_paths", "audit_trails", "enrollments", "learning_path_enrollments", "exams", "exam_enrollments",
    "exam_answers", "assignment_answers", "markcompletes", "sessions", "session_attendance", "ilt_sessions",
    "locations", "timezones", "badges", "certifications", "user_awards", "leaderboard_snapshots",
    "code_lookups",
)


@dlt.source(name="learnupon", max_table_nesting=0)
def learnupon_source(context: ExtractContext) -> list[DltResource]:
    """All LearnUpon resources; pick some with `.with_resources(...)`."""
    return _resources(context)


# raw table -> the resource that writes it (Dagster wires model assets to resource assets with it)
TABLE_RESOURCES = table_resources(ALL_RESOURCES)
