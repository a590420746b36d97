"""The people erased so far (the `erasures` table, pipelines/privacy/erasure.py), as the loads recognise them:
per portal (ids repeat across a realm's portals), their LearnUpon ids and keyed pseudonyms of their emails,
usernames and full names (never the values)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

ERASURES = "erasures"


@dataclass(frozen=True)
class ErasedPeople:
    user_ids: frozenset[tuple[str, int]] = frozenset()  # (portal, user id)
    identifiers: frozenset[tuple[str, str]] = frozenset()  # (portal, pseudonym)

    def __bool__(self) -> bool:
        return bool(self.user_ids or self.identifiers)

    def ids_in(self, portal: str) -> set[int]:
        return {i for p, i in self.user_ids if p == portal}


def erased_people(warehouse: Any) -> ErasedPeople:
    """The `erasures` recorded in the warehouse; none when there is no warehouse or no erasure yet."""
    try:
        with warehouse.backend.raw_connection() as con:
            rows = con.execute(f'select portal, user_id, identifiers from "{warehouse.dataset}"."{ERASURES}"').fetchall()
    except Exception as exc:
        if ERASURES in str(exc) or "not exist" in str(exc):  # no erasure yet, or no warehouse yet
            return ErasedPeople()
        raise
    ids = {(str(r[0]), int(r[1])) for r in rows if r[1] is not None}
    identifiers = {(str(r[0]), p) for r in rows if r[2] for p in orjson.loads(r[2])}
    return ErasedPeople(frozenset(ids), frozenset(identifiers))
