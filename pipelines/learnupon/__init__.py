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
  portals                  the realm's sub-portals (a top-level portal only: the `top_level` setting)

Every resource yields Arrow tables (see arrow.py), so dlt loads Parquet without
its row-by-row normalizer. The table registry (tables.py) declares every table and
the resources' order, which matters only for cost: resources run one after another
(dlt's fifo mode), and a list one of them fetched (courses, groups, modules, the
users' award keys) is reused by those after it.
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
from .resources.realm import portals_resource
from .settings import LISTINGS
from .tables import ALL_RESOURCES, TABLE_RESOURCES, with_portal


# each builds one resource; the registry (tables.py) names them and gives their order
_BUILDERS = (
    users_resource,
    group_memberships_resource,
    courses_resource,
    modules_resource,
    learning_paths_resource,
    audit_trails_resource,
    enrollments_resource,
    learning_path_enrollments_resource,
    exams_resource,
    exam_enrollments_resource,
    exam_answers_resource,
    assignment_answers_resource,
    sessions_resource,
    session_attendance_resource,
    ilt_sessions_resource,
    user_awards_resource,
    leaderboard_resource,
    portals_resource,
    code_lookups_resource,
)


def _resources(context: ExtractContext) -> list[DltResource]:
    built = [build(context) for build in _BUILDERS] + [listing_resource(context, listing) for listing in LISTINGS]
    by_name = {resource.name: resource for resource in built}
    # every table a resource writes gets the portal column here, once (tables.PORTAL)
    return [by_name[name].add_map(lambda item: with_portal(item, context.portal_name)) for name in ALL_RESOURCES]


@dlt.source(name="learnupon", max_table_nesting=0)
def learnupon_source(context: ExtractContext) -> list[DltResource]:
    """All LearnUpon resources; pick some with `.with_resources(...)`."""
    return _resources(context)


__all__ = ["ALL_RESOURCES", "TABLE_RESOURCES", "learnupon_source"]
