"""Ground truth: every record a perfect copy of the portal would hold now."""

from __future__ import annotations

from typing import Any

from . import render
from .model import State


def ground_truth(st: State, q: frozenset[str], now: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {
        "users": [render.user(st, u, q, "1.2") for u in st.users.values()],
        "custom_user_fields": render.custom_field_definitions(st, full=True),
        "courses": [render.course(st, c) for c in st.courses.values()],
        "enrollments": [render.enrollment(st, st.enrollments[eid], q) for eid in sorted(st.enrollments)],
        "deleted_user_ids": list(st.deleted_user_ids),
        "deleted_enrollment_ids": list(st.deleted_enrollment_ids),
    }
    extra = st.extra.get("truth")
    if extra is not None:
        out.update(extra(st, q, now))
    return out
