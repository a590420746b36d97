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

# what vanished since the start, as ground-truth keys
DELETED_KEYS = {"user": "deleted_user_ids", "enrollment": "deleted_enrollment_ids"}


def ground_truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for domain in DOMAINS:
        out.update(domain.truth(st, b, now))
    for kind, key in DELETED_KEYS.items():
        out[key] = list(st.deleted.get(kind, ()))
    return out
