"""The realm: GET /portals on a top-level portal lists its sub-portals; GET /portals/{id}/generate_keys re-keys one.

A realm (realm.py) is a top-level portal and its sub-portals, each a portal of its own
(own data, keys and rate limit: "the rate limits apply per portal, rather than per
realm"). The top-level portal's state holds a `PortalEntry` per portal of the realm;
members and licences used are counted from that portal's own data when asked, so a
churn of a sub-portal shows in the listing.

What the reference leaves open, and what this portal does:
- the listing's wrapper key is not shown: `portals` (quirk `portals_wrapper`: a bare array);
- "Search for (list) existing sub-portals" (method table) against "List all portals" (the
  sample's heading): sub-portals only (quirk `portals_list_self`: the top-level portal too);
- GET /portals on a sub-portal: 403 (the resource "lets you create sub-portals within the same
  realm as your top-level portal": a sub-portal has none to list, and no right to the realm's);
  a portal that is not in a realm is a top-level portal without sub-portals: an empty list;
- "licences used" is not defined: the portal's enabled users (each holds a licence).
`generate_keys` "invalidates" nothing in the reference's words, but new keys replace a portal's
pair in LearnUpon's UI: here the sub-portal's old keys stop working at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..api import INVALID_PARAMETERS, ApiContext, ApiError, Behaviour, Params, Result
from ..model import State
from ..timefmt import iso

TOP_LEVEL, SUB_PORTAL = "top-level", "sub-portal"
NOT_TOP_LEVEL = "Forbidden: only a top-level portal manages the portals of its realm"


@dataclass
class PortalEntry:
    """One portal of a realm as the top-level portal knows it."""

    id: int
    subdomain: str
    title: str
    created_at: int
    updated_at: int
    allow_course_authoring: bool
    licenses_purchased: int
    logo_image_url: str | None
    header_color: str
    navigation_color: str
    top_level: bool
    state: State  # that portal's data: members and licences used are counted from it
    lock: Any  # that portal's lock (its churn changes the state)
    rekey: Callable[[], tuple[str, str]]  # new API keys for that portal; its old pair stops working


def counts(entry: PortalEntry) -> tuple[int, int]:
    """(members, licences used) of a portal right now."""
    with entry.lock:
        users = list(entry.state.users.values())
    return len(users), sum(1 for u in users if u.enabled)


def record(entry: PortalEntry) -> dict[str, Any]:
    members, used = counts(entry)
    return {
        "id": entry.id, "title": entry.title, "subdomain": entry.subdomain,
        "created_at": iso(entry.created_at), "updated_at": iso(entry.updated_at),
        "allow_course_authoring": entry.allow_course_authoring, "number_of_members": members,
        "number_licenses_purchased": entry.licenses_purchased, "number_licenses_used": used,
        "logo_image_url": entry.logo_image_url, "header_color": entry.header_color,
        "navigation_color": entry.navigation_color,
    }


def listed(st: State, quirks: frozenset[str]) -> list[PortalEntry]:
    """The portals GET /portals lists under this portal's reading."""
    return [e for e in st.realm_portals if not e.top_level or "portals_list_self" in quirks]


# --- handlers ----------------------------------------------------------------------------

def list_portals(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    if api.st.realm_role != TOP_LEVEL:
        raise ApiError(403, NOT_TOP_LEVEL)
    entries = listed(api.st, api.q)
    title = (p.str("title") or "").strip().lower()
    if title:  # "pattern matching, not exact matching ... case insensitive"
        entries = [e for e in entries if title in e.title.lower()]
    return api.listing(p, "portals", entries, record, bare_quirk="portals_wrapper")


def generate_keys(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    if api.st.realm_role != TOP_LEVEL:
        raise ApiError(403, NOT_TOP_LEVEL)
    wanted = int(args["id"])
    entry = next((e for e in api.st.realm_portals if e.id == wanted and not e.top_level), None)
    if entry is None:
        raise ApiError(404, INVALID_PARAMETERS)
    username, password = entry.rekey()
    return Result({"id": entry.id, "username": username, "password": password})


ROUTES = (
    ("GET", "/portals", list_portals),
    ("GET", "/portals/{id}/generate_keys", generate_keys),
)


# --- ground truth ------------------------------------------------------------------------

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """portals: what GET /portals lists (empty on a sub-portal, which answers 403), by id."""
    rows = []
    if st.realm_role == TOP_LEVEL:
        for e in sorted(listed(st, b.quirks), key=lambda e: e.id):
            with e.lock:
                members = len(e.state.users)
                used = len([u for u in e.state.users.values() if u.enabled is True])
            rows.append({"id": e.id, "title": e.title, "subdomain": e.subdomain, "created_at": iso(e.created_at),
                         "updated_at": iso(e.updated_at), "allow_course_authoring": e.allow_course_authoring,
                         "number_of_members": members, "number_licenses_purchased": e.licenses_purchased,
                         "number_licenses_used": used, "logo_image_url": e.logo_image_url,
                         "header_color": e.header_color, "navigation_color": e.navigation_color})
    return {"portals": rows}
