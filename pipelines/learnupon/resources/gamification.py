"""User awards and the leaderboard.

- user_awards: badges per user come only from GET /users/{id}, one call per
  user, so they are read only for users whose number_of_points or
  number_of_badges (from the users listing) changed since the last read; none
  at all when gamification is off. SCD2 keyed by user, so only re-read users
  can retire an award.
- leaderboard_snapshots: the API has current standings only; each run stores
  them under the day's date (UTC, portal clock). Several runs on one day
  replace that day's snapshot; days accumulate into history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..records import int_or_none
from ..fanout import fan_out
from ..settings import LEADERBOARD_KEYS, LEADERBOARD_PATH, USERS_KEYS, USERS_PATH, USERS_VERSION_ID
from .common import row_hash


def award_keys(context: ExtractContext) -> dict[int, list]:
    """user id -> [points, badges] for users with any gamification data (the users resource fills this)."""

    def listing() -> dict[int, list]:
        keys: dict[int, list] = {}
        for page in context.client.paginate(USERS_PATH, {"version_id": USERS_VERSION_ID}, record_keys=USERS_KEYS):
            note_award_keys(keys, page.records)
        return keys

    return context.run_cache.user_award_keys.get(listing)


def note_award_keys(keys: dict[int, list], records: list[dict]) -> None:
    """Awards are badges: a user with none costs no call, whatever their points."""
    for r in records:
        points, badges = r.get("number_of_points"), r.get("number_of_badges")
        if (uid := int_or_none(r.get("id"))) is not None and int_or_none(badges):
            keys[uid] = [points, badges]


def _awards(context: ExtractContext, user_id: int) -> list[dict]:
    body = context.client.get_json(f"/users/{user_id}", endpoint="GET /users/{id}")
    holders = []
    if isinstance(body, dict):
        holders.append(body)
        for key in USERS_KEYS:
            value = body.get(key)
            holders.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict))
    for holder in holders:
        awards = holder.get("awards")
        if isinstance(awards, dict):  # {"number_of_points":..,"awards":[...]}
            awards = awards.get("awards")
        if isinstance(awards, list):
            return [{**a, "user_id": user_id} for a in awards if isinstance(a, dict)]
    return []


def user_awards_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("user_awards"))
    @context.contained("user_awards")
    def user_awards() -> Iterator[pa.Table]:
        seen = dlt.current.source_state().setdefault("award_keys", {})
        keys = award_keys(context)
        todo = sorted(uid for uid, key in keys.items() if seen.get(str(uid)) != key)
        for user_id, awards in fan_out(todo, lambda u: [(u, _awards(context, u))], context.options.workers):
            seen[str(user_id)] = keys[user_id]
            context.client.stats.add("GET /users/{id}", records=len(awards))
            context.progress.update("user_awards", rows=len(awards))
            if awards:
                rows = [{**a, "row_hash": row_hash(a)} for a in awards]
                yield tables.to_table("user_awards", rows, context.issues)

    return user_awards


def leaderboard_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("leaderboard_snapshots"))
    @context.contained("leaderboard_snapshots")
    def leaderboard_snapshots() -> Iterator[pa.Table]:
        taken_at = context.client.server_now()
        day = taken_at.date().isoformat()
        for page in context.client.paginate(LEADERBOARD_PATH, record_keys=LEADERBOARD_KEYS):
            context.progress.update("leaderboard_snapshots", pages=1, rows=len(page.records))
            rows: list[dict[str, Any]] = [{**r, "snapshot_date": day, "taken_at": taken_at} for r in page.records]
            if rows:
                yield tables.to_table("leaderboard_snapshots", rows, context.issues)

    return leaderboard_snapshots
