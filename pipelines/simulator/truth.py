"""Ground truth: what a perfect copy of the portal holds right now, table by table.

Each domain states its tables from the portal's model on its own (domains/*.py,
`truth`), not through the records its endpoints render, so comparing an
endpoint or a warehouse with it checks something. Records have the API's shape
under the portal's readings (quirks), plus the link keys the API gives only in
the query (group_id on memberships, session_id on attendance, ...).
"""

from __future__ import annotations

from typing import Any

from .api import Behaviour
from .domains import DOMAINS
from .model import State

# what left the API since the start (deleted, or gone with a deleted user or enrollment), by ground-truth key:
# ids, or [group_id, user_id] / [session_id, user_id] for rows the API gives no id of
DELETED_KEYS = {
    "user": "deleted_user_ids",
    "enrollment": "deleted_enrollment_ids",
    "lp_enrollment": "deleted_lp_enrollment_ids",
    "exam_enrollment": "deleted_exam_enrollment_ids",
    "assignment_answer": "deleted_assignment_answer_ids",
    "session_attendance": "deleted_session_attendance",
    "group_membership": "deleted_group_memberships",
    "group_manager": "deleted_group_manager_ids",
    "course_instructor": "deleted_course_instructor_ids",
}


def ground_truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for domain in DOMAINS:
        out.update(domain.truth(st, b, now))
    for kind, key in DELETED_KEYS.items():
        out[key] = [list(k) if isinstance(k, list) else k for k in st.deleted.get(kind, ())]
    # a mark-complete is hidden while its enrollment is gone
    out["deleted_markcomplete_ids"] = [mc["id"] for mc in st.markcompletes.values() if mc["enrollment_id"] not in st.enrollments]
    return out
