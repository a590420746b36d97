"""The GET endpoints of /api/v1: parameter checks, selection and pagination.

Handlers return a Result (a JSON-native body plus paging facts) or raise
ApiError; server.py turns either into HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

from . import render
from .model import State
from .timefmt import DAY, parse_day


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


def paginate(items: Sequence[Any], page: int, size: int, overlap: bool = False) -> tuple[Sequence[Any], bool]:
    start = (page - 1) * size
    end = start + size
    if overlap and page > 1:  # the listing moved on by one since the previous page was served
        start -= 1
    return items[start:end], len(items) > end


Handler = Callable[["Api", Params, dict[str, str]], Result]


class Api:
    """Endpoint handlers over one portal's state. Callers hold the portal lock."""

    def __init__(self, state: State, page_size: int, quirks: frozenset[str], now: Callable[[], float],
                 data_now: Callable[[], int] = lambda: 0, audit_page_size: int = 10_000,
                 overlapping_pages: bool = False) -> None:
        self.st = state
        self.overlapping_pages = overlapping_pages
        self.data_now = data_now  # the clock data is stamped with (no wall time): attendance marking
        self.audit_page_size = audit_page_size
        self.page_size = page_size
        self.q = quirks
        self.now = now
        self._email_index: Optional[dict[str, int]] = None
        self._username_index: Optional[dict[str, int]] = None

    # --- helpers ---------------------------------------------------------------
    def invalidate(self) -> None:
        """Drop derived indexes after the state changed."""
        self._email_index = self._username_index = None
        self.st.touch_counts()

    def user_by_email(self, email: str) -> Optional[int]:
        if self._email_index is None:
            self._email_index = {u.email.lower(): u.id for u in self.st.users.values()}
        return self._email_index.get(email.strip().lower())

    def user_by_username(self, username: str) -> Optional[int]:
        if self._username_index is None:
            self._username_index = {u.username.lower(): u.id for u in self.st.users.values() if u.username}
        return self._username_index.get(username.strip().lower())

    def page_result(self, key: Optional[str], records_of: Callable[[Sequence[Any]], list[dict[str, Any]]],
                    items: Sequence[Any], p: Params, extra: Optional[dict[str, Any]] = None) -> Result:
        page = p.page()
        chunk, has_next = paginate(items, page, self.page_size, self.overlapping_pages)
        records = records_of(chunk)
        if key is None:
            return Result(records, page, has_next)
        body = {key: records}
        if extra:
            body.update(extra)
        return Result(body, page, has_next)

    # --- users -------------------------------------------------------------------
    def users_key(self) -> str:
        return "users" if "users_wrapper" in self.q else "user"

    def _user_records(self, users: Sequence[Any], version: Optional[str]) -> list[dict[str, Any]]:
        return [render.user(self.st, u, self.q, version) for u in users]

    def _defs(self) -> dict[str, Any]:
        return {render.custom_defs_key(self.q): render.custom_field_definitions(self.st, full=False)}

    def list_users(self, p: Params, _: dict[str, str]) -> Result:
        version = p.str("version_id")
        users: Sequence[Any] = list(self.st.users.values())
        if p.has("login_enabled"):
            wanted = p.bool("login_enabled")
            users = [u for u in users if u.enabled == wanted]
        return self.page_result(self.users_key(), lambda chunk: self._user_records(chunk, version), users, p,
                                self._defs())

    def search_users(self, p: Params, _: dict[str, str]) -> Result:
        if p.str("email"):
            uid = self.user_by_email(p.str("email") or "")
        elif p.str("username"):
            uid = self.user_by_username(p.str("username") or "")
        else:
            raise ApiError(400, "You must provide an email or a username")
        if uid is None:
            raise ApiError(404, "User not found")
        u = self.st.users[uid]
        return self.page_result(self.users_key(), lambda chunk: self._user_records(chunk, p.str("version_id")), [u],
                                p, self._defs())

    def get_user(self, p: Params, args: dict[str, str]) -> Result:
        u = self.st.users.get(int(args["id"]))
        if u is None:
            raise ApiError(404, "User not found")
        rec = render.user(self.st, u, self.q, p.str("version_id"))
        body: dict[str, Any] = {self.users_key(): [rec]}
        if self.st.extra.get("gamification"):
            awards = render.user_awards(self.st, u)
            if "user_awards" in self.q:
                body["awards"] = awards
            else:
                rec["awards"] = awards
        body.update(self._defs())
        return Result(body)

    def custom_user_data(self, p: Params, _: dict[str, str]) -> Result:
        defs = render.custom_field_definitions(self.st, full=True)
        return self.page_result(render.custom_defs_key(self.q), lambda chunk: list(chunk), defs, p)

    # --- courses -----------------------------------------------------------------
    def select_courses(self, p: Params) -> list[Any]:
        st = self.st
        include_draft = p.bool("include_draft")
        licensed = p.bool("include_licensed_courses")
        name = p.str("name")
        course_id = p.int("course_id")
        if course_id is not None:
            c = st.courses.get(course_id)
            if c is None or (c.status == "draft" and not include_draft) or (c.family.licensed and not licensed):
                raise ApiError(404, "Course not found")
            return [c]
        all_versions = p.bool("include_all_versions") and (name is not None or "courses_all_versions" in self.q)
        picked = []
        for c in st.courses.values():
            if c.family.licensed and not licensed:
                continue
            if c.status == "draft":
                if not include_draft:
                    continue
            elif not all_versions and c.status not in ("published", "under_revision"):
                continue
            if name and name.lower() not in c.name.lower():
                continue
            picked.append(c)
        return picked

    def list_courses(self, p: Params, _: dict[str, str]) -> Result:
        courses = self.select_courses(p)
        return self.page_result("courses", lambda chunk: [render.course(self.st, c) for c in chunk], courses, p)

    # --- enrollments -------------------------------------------------------------
    ENROLLMENT_KEYS = ("id", "user_id", "course_id", "course_name", "email", "username")

    def enrollments_key(self) -> Optional[str]:
        return None if "enrollments_wrapper" in self.q else "enrollments"

    def _enrollment_records(self, chunk: Sequence[int]) -> list[dict[str, Any]]:
        st = self.st
        return [render.enrollment(st, st.enrollments[eid], self.q) for eid in chunk]

    def _candidate_sets(self, p: Params) -> list[Sequence[int]]:
        st = self.st
        sets: list[Sequence[int]] = []
        if p.str("id"):
            eid = p.int("id")
            if eid not in st.enrollments:
                raise ApiError(404, "Enrollment not found")
            sets.append([eid])
        if p.str("user_id"):
            uid = p.int("user_id")
            if uid not in st.users:
                raise ApiError(404, "User not found")
            sets.append(st.enr_by_user.get(uid, []))
        for key, finder in (("email", self.user_by_email), ("username", self.user_by_username)):
            value = p.str(key)
            if value:
                uid = finder(value)
                if uid is None:
                    raise ApiError(404, "User not found")
                sets.append(st.enr_by_user.get(uid, []))
        if p.str("course_id"):
            cid = p.int("course_id")
            if cid not in st.courses:
                raise ApiError(404, "Course not found")
            sets.append(st.enr_by_course.get(cid, []))
        name = p.str("course_name")
        if name:
            fams = [f for f in st.families.values() if f.current_name(st.courses) == name]
            if not fams:
                raise ApiError(404, "Course not found")
            ids: list[int] = []
            for fam in fams:
                for cid in fam.versions:
                    ids.extend(st.enr_by_course.get(cid, ()))
            sets.append(sorted(ids))
        return sets

    def search_enrollments(self, p: Params, _: dict[str, str]) -> Result:
        if not any(p.str(k) for k in self.ENROLLMENT_KEYS):
            raise ApiError(400, "You must provide one of: id, user_id, course_id, course_name, email, username")
        date_from, date_to = p.day("date_from"), p.day("date_to")
        sets = self._candidate_sets(p)
        sets.sort(key=len)
        ids: Sequence[int] = sets[0]
        if len(sets) > 1:
            others = [set(s) for s in sets[1:]]
            ids = [eid for eid in ids if all(eid in o for o in others)]
        if date_from is not None or date_to is not None:
            lo = date_from if date_from is not None else 0
            hi = (date_to + DAY) if date_to is not None else 1 << 62  # date_to is inclusive
            enr = self.st.enrollments
            ids = [eid for eid in ids if lo <= enr[eid].updated_at < hi]
        return self.page_result(self.enrollments_key(), self._enrollment_records, ids, p)

    def get_enrollment(self, p: Params, args: dict[str, str]) -> Result:
        eid = int(args["id"])
        if eid not in self.st.enrollments:
            raise ApiError(404, "Enrollment not found")
        records = self._enrollment_records([eid])
        key = self.enrollments_key()
        return Result(records if key is None else {key: records})


# (method, pattern, template, handler); the first match wins, so literal paths precede {id} ones
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = []


def route(template: str, handler: Handler, method: str = "GET") -> None:
    pattern = re.escape(template)
    pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", pattern)
    ROUTES.append((method, re.compile(f"^{pattern}$"), f"{method} {template}", handler))


route("/users", Api.list_users)
route("/users/search", Api.search_users)
route("/users/customuserdata", Api.custom_user_data)
route("/users/{id}", Api.get_user)
route("/courses", Api.list_courses)
route("/enrollments/search", Api.search_enrollments)
route("/enrollments/{id}", Api.get_enrollment)


def resolve(method: str, path: str) -> tuple[Optional[str], Optional[Handler], dict[str, str]]:
    """(template, handler, path args) for a path below /api/v1, or (None, None, {})."""
    for m, pattern, template, handler in ROUTES:
        match = pattern.match(path)
        if match:
            if m != method:
                continue
            return template, handler, match.groupdict()
    return None, None, {}
