"""What a request handler works with: parameters, errors, results, paging, and the portal's settings.

Handlers (in domains/) take (ApiContext, Params, path args) and return a Result
(a JSON-native body plus paging facts) or raise ApiError; server.py turns either
into HTTP. Callers hold the portal lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from .model import State
from .timefmt import parse_day

# the reference's 404 for a bad identifier ("404 | Invalid parameters | Customer sent invalid parameters")
INVALID_PARAMETERS = "Invalid parameters"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Result:
    body: Any
    page: Optional[int] = None  # set on paginated responses
    has_next: bool = False


class Params:
    """Query parameters (last value wins) with the API's type rules, and the JSON body of a write."""

    def __init__(self, query: dict[str, list[str]], body: Any = None) -> None:
        self.q = {k: v[-1] for k, v in query.items()}
        self.body = body

    def has(self, name: str) -> bool:
        return name in self.q

    def str(self, name: str) -> Optional[str]:
        return self.q.get(name)

    def int(self, name: str) -> Optional[int]:
        raw = self.q.get(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer") from None

    def opt_int(self, name: str) -> Optional[int]:
        """An integer filter: None when absent or empty."""
        return self.int(name) if self.str(name) else None

    def bool(self, name: str) -> bool:
        return (self.q.get(name) or "").strip().lower() in ("true", "1", "t", "yes")

    def day(self, name: str) -> Optional[int]:
        raw = self.q.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_day(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be a date in YYYY-MM-DD format") from None

    def page(self) -> int:
        page = self.int("page")
        if page is None:
            return 1
        if page < 1:
            raise ApiError(400, "page must be a positive integer")
        return page


def without(record: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The record less the fields the reference does not show (strict mode)."""
    for field in fields:
        record.pop(field, None)
    return record


def paginate(items: Sequence[Any], page: int, size: int, overlap: bool = False) -> tuple[Sequence[Any], bool]:
    start = (page - 1) * size
    end = start + size
    if overlap and page > 1:  # the listing moved on by one since the previous page was served
        start -= 1
    return items[start:end], len(items) > end


@dataclass(frozen=True)
class Behaviour:
    """How this portal reads the reference where it is ambiguous or narrow (see config.PortalConfig)."""

    page_size: int
    quirks: frozenset[str]
    audit_page_size: int = 10_000
    overlapping_pages: bool = False
    strict: bool = False
    attendance_path: str = "both"
    empty_name_search: str = "all"
    custom_data_shapes: str = "values"
    custom_data_disagreements: float = 0.0
    predefined_values: str = "list"
    user_listing_definitions: bool = True
    rating_options: str = "statements"


class ApiContext:
    """One portal's state and behaviour, as the endpoint handlers see it."""

    def __init__(self, state: State, behaviour: Behaviour, now: Callable[[], float],
                 data_now: Callable[[], int]) -> None:
        self.st = state
        self.b = behaviour
        self.q = behaviour.quirks
        self.page_size = behaviour.page_size
        self.now = now  # request time: the audit window
        self.data_now = data_now  # the clock data is stamped with (no wall time): attendance marking
        self._email_index: Optional[dict[str, int]] = None
        self._username_index: Optional[dict[str, int]] = None

    def invalidate(self) -> None:
        """Drop derived indexes after the state changed."""
        self._email_index = self._username_index = None
        self.st.touch_counts()

    def user_by_email(self, email: str) -> Optional[int]:
        if self._email_index is None:
            # a user created with a username only has no email (stored blank): it is found by username
            self._email_index = {u.email.lower(): u.id for u in self.st.users.values() if u.email}
        return self._email_index.get(email.strip().lower())

    def user_by_username(self, username: str) -> Optional[int]:
        if self._username_index is None:
            self._username_index = {u.username.lower(): u.id for u in self.st.users.values() if u.username}
        return self._username_index.get(username.strip().lower())

    def user_filter(self, p: Params) -> Optional[int]:
        """user_id, email or username parameter as a user id; -1 when given but unknown."""
        if p.str("user_id"):
            return p.int("user_id")
        if p.str("email"):
            return self.user_by_email(p.str("email") or "") or -1
        if p.str("username"):
            return self.user_by_username(p.str("username") or "") or -1
        return None

    def page_result(self, key: Optional[str], records_of: Callable[[Sequence[Any]], list[dict[str, Any]]],
                    items: Sequence[Any], p: Params, extra: Optional[dict[str, Any]] = None) -> Result:
        """One page of `items`, rendered by `records_of`, wrapped in `key` (None: a bare array)."""
        page = p.page()
        chunk, has_next = paginate(items, page, self.page_size, self.b.overlapping_pages)
        records = records_of(chunk)
        if key is None:
            return Result(records, page, has_next)
        body = {key: records}
        if extra:
            body.update(extra)
        return Result(body, page, has_next)

    def listing(self, p: Params, key: str, items: Sequence[Any], render: Callable[[Any], dict[str, Any]],
                bare_quirk: Optional[str] = None) -> Result:
        """A paginated list; `bare_quirk` names the quirk that turns the wrapper into a bare array."""
        wrapper = None if bare_quirk and bare_quirk in self.q else key
        return self.page_result(wrapper, lambda chunk: [render(i) for i in chunk], items, p)
