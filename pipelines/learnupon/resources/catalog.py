"""Courses (every version, drafts and archived included), their modules, and learning paths.

The course list is fetched once per run by the extract context, because the
enrollment search fans out over it too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..client import endpoint_template
from ..context import ExtractContext
from ..records import int_or_none
from ..errors import LearnUponError, WeeklyBudgetReserved
from ..fanout import fan_out
from ..settings import LEARNING_PATHS_KEYS, LEARNING_PATHS_PATH, MODULES_KEYS, MODULES_PATH
from .common import calls_to, child_table, listing_complete, row_hash
from .live_learning import session_id_of, session_list

log = logging.getLogger("lms_warehouse.modules")


def courses_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("courses"))
    @context.contained("courses")
    def courses() -> Iterator[pa.Table]:
        records = context.courses(refresh_versions=True)
        for start in range(0, len(records), 1000):
            yield tables.to_table("courses", records[start : start + 1000], context.issues)
        # versions of a family completed in an earlier run are remembered, not listed again: they stay
        yield listing_complete(context, "courses", keep=("id", context.remembered_course_ids()))

    return courses


# ---- modules -------------------------------------------------------------------
# GET /modules?course_id= per course. A published or archived course version's
# modules do not change (edits make a new version), so a course is re-read only
# when it is new, a draft/under revision, or its number_of_modules changed. Two
# things change rows of a course that is otherwise stable, and are noticed
# without a call of their own:
# - a live session added to (or changed in) one of its live-learning modules: the
#   session search, which the run makes anyway for sessions and attendance, shows
#   it under the course, with a search row the course's modules were not read with;
# - a module it shares with a course read now changed (another version linked it,
#   a session was added): every other course holding that module is read too.
# The source state remembers, per course, what was read: its exam and assignment
# module ids (which the exam and assignment resources fan out over), the search
# row hash of each session it was read with, and a fingerprint per module.

STABLE_STATUSES = {"published", "archived"}
# a module as placed in a course version, once per live-learning session (session_key: its session_id, 0 if none)


def _module_signature(course: dict) -> list:
    return [course.get("number_of_modules"), str(course.get("published_status_id") or "").lower()]


def modules_to_read(context: ExtractContext, sessions: dict[int, dict[str, str]] | None) -> tuple[list[dict], list[dict]]:
    """(courses that are new or changed, stable courses whose listed sessions their modules were not read with)."""
    known = dlt.current.source_state().get("course_modules", {})
    changed, for_sessions = [], []
    for course in context.courses():
        cid = int_or_none(course.get("id"))
        if cid is None:
            continue
        seen = known.get(str(cid))
        signature = _module_signature(course)
        if seen is None or seen.get("sig") != signature or signature[1] not in STABLE_STATUSES:
            changed.append(course)
        elif sessions and any((seen.get("sessions") or {}).get(sid) != h for sid, h in sessions.get(cid, {}).items()):
            for_sessions.append(course)
    return changed, for_sessions


def listed_sessions(context: ExtractContext) -> dict[int, dict[str, str]] | None:
    """course id -> {session id: hash of its search row}, when this run searches sessions anyway; else None."""
    if not (context.extracts(tables.SESSIONS) or context.extracts(tables.SESSION_ATTENDANCE)):
        return None  # no call of its own for this
    try:
        listed = session_list(context)
    except WeeklyBudgetReserved:
        raise
    except LearnUponError as error:  # the sessions resource fails on it and says why; modules load as they are
        log.warning("modules: the session search failed (%s); sessions added to modules are looked for next run", error)
        return None
    by_course: dict[int, dict[str, str]] = {}
    for record in listed:
        cid, sid = int_or_none(record.get("course_id")), session_id_of(record)
        if cid is not None and sid is not None:
            by_course.setdefault(cid, {})[str(sid)] = row_hash(record)
    return by_course


def module_prints(records: list[dict]) -> dict[str, str]:
    """module id -> a fingerprint of its rows as any course holding it shows them (course and place left out)."""
    rows: dict[str, list[str]] = {}
    for r in records:
        if (mid := int_or_none(r.get("id"))) is not None:
            rows.setdefault(str(mid), []).append(row_hash({k: v for k, v in r.items() if k not in ("course_id", "sequence")}))
    return {mid: row_hash(sorted(hashes)) for mid, hashes in rows.items()}


def changed_modules(read_now: dict[int, list[dict]], before: dict[str, dict[str, str]]) -> set[str]:
    """Modules a course read now shows differently from before: from its own last read, else from another holder's."""
    changed = set()
    for cid, records in read_now.items():
        own = before.get(str(cid), {})
        for mid, fingerprint in module_prints(records).items():
            earlier = {own[mid]} if mid in own else {p[mid] for p in before.values() if mid in p}
            if earlier - {fingerprint}:
                changed.add(mid)
    return changed


def read_modules(context: ExtractContext, course: dict) -> list[dict]:
    cid = int_or_none(course.get("id"))
    records = []
    # a live-learning module comes once per session, with the same id: (id, session_id) is the record
    for page in context.client.paginate(MODULES_PATH, {"course_id": cid}, record_keys=MODULES_KEYS, unique_key=("id", "session_id")):
        context.progress.update("modules", pages=1, rows=len(page.records))
        records.extend({**r, "course_id": cid, "session_key": int_or_none(r.get("session_id")) or 0} for r in page.records)
    return records


def module_index(context: ExtractContext) -> dict[int, dict[str, list[int]]]:
    """course id -> its exam and assignment module ids: from state, plus courses read this run."""
    def build() -> dict[int, dict[str, list[int]]]:
        index = {
            int(cid): {"exams": entry.get("exams", []), "assignments": entry.get("assignments", [])}
            for cid, entry in dlt.current.source_state().get("course_modules", {}).items()
        }
        fresh = dict(context.run_cache.modules_read)
        missing = [c for c in context.courses() if int_or_none(c.get("id")) not in index and int_or_none(c.get("id")) not in fresh]
        for course in missing:  # the modules resource did not run first: read them, without touching its state
            fresh[int_or_none(course.get("id"))] = read_modules(context, course)
        for cid, records in fresh.items():
            index[cid] = _ids_of(records)
        return index

    return context.run_cache.module_index.get(build)


def _ids_of(records: list[dict]) -> dict[str, list[int]]:
    exams, assignments = set(), set()
    for r in records:
        kind = str(r.get("component_type") or "").lower()
        if (exam_id := int_or_none(r.get("exam_id"))) is not None:
            exams.add(exam_id)
        elif kind == "exam" and (mid := int_or_none(r.get("id"))) is not None:
            exams.add(mid)
        if kind == "assignment" and (mid := int_or_none(r.get("id"))) is not None:
            assignments.add(mid)  # assignment_id is the module id
    return {"exams": sorted(exams), "assignments": sorted(assignments)}


MODULES_ENDPOINT = endpoint_template("GET", MODULES_PATH)


def modules_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("modules"))
    @context.contained("modules")
    def modules() -> Iterator[pa.Table]:
        state = dlt.current.source_state().setdefault("course_modules", {})
        before = {cid: dict(entry.get("prints") or {}) for cid, entry in state.items()}
        sessions = listed_sessions(context)
        read_now: dict[int, list[dict]] = {}

        def read(todo: list[dict]) -> Iterator[pa.Table]:
            for course, records in fan_out(todo, lambda c: [(c, read_modules(context, c))], context.options.workers):
                cid = int_or_none(course.get("id"))
                read_now[cid] = records
                seen = (state.get(str(cid)) or {}).get("sessions") or {}
                state[str(cid)] = {
                    "sig": _module_signature(course), **_ids_of(records), "prints": module_prints(records),
                    # the sessions its modules are now read with (a session listed later is looked for then)
                    "sessions": {**seen, **(sessions or {}).get(cid, {})},
                }
                if records:
                    yield tables.to_table("modules", records, context.issues)

        changed, for_sessions = modules_to_read(context, sessions)
        yield from read(changed)
        calls_before = calls_to(context, MODULES_ENDPOINT)
        yield from read(for_sessions)
        shared = changed_modules(read_now, before)
        holders = [
            c for c in context.courses()
            if (cid := int_or_none(c.get("id"))) is not None and cid not in read_now
            and shared & set((state.get(str(cid)) or {}).get("prints") or {})
        ]
        yield from read(holders)
        if for_sessions or holders:
            context.costs["modules_reread"] = {
                "for_sessions": len(for_sessions), "for_shared_modules": len(holders),
                "calls": calls_to(context, MODULES_ENDPOINT) - calls_before,
            }
        if read_now:
            yield listing_complete(context, "modules", read_now)
        context.run_cache.modules_read = read_now

    return modules


# ---- learning paths --------------------------------------------------------------


def learning_path_records(context: ExtractContext) -> list[dict]:
    """The listing: draft and published paths (archived ones are not listed, by the reference's reading)."""
    params = {"include_courses": "true", "include_draft": "true"}
    return context.run_cache.learning_paths.get(
        lambda: [
            r
            for page in context.client.paginate(LEARNING_PATHS_PATH, params, record_keys=LEARNING_PATHS_KEYS)
            for r in page.records
        ],
    )


def learning_path_ids(context: ExtractContext) -> list[int]:
    """Every path ever seen: listed now, listed before (archived since), or found by the backfill.

    Kept in the source state, so an archived path's enrollments, completions and
    certificates go on being read after the listing stops showing it.
    """
    known = dlt.current.source_state().setdefault("known_learning_paths", [])
    listed = {i for p in learning_path_records(context) if (i := int_or_none(p.get("id"))) is not None}
    merged = sorted(listed | {int(i) for i in known})
    known[:] = merged
    return merged


def remember_learning_paths(ids: set[int]) -> None:
    """Paths found outside the listing (a user's learning-path enrollments) join those searched every run."""
    known = dlt.current.source_state().setdefault("known_learning_paths", [])
    known[:] = sorted({int(i) for i in known} | {int(i) for i in ids})


def learning_paths_resource(context: ExtractContext) -> DltResource:
    """learning_paths (merge on id) and learning_path_courses (SCD2: a course taken off a path is retired)."""

    @dlt.resource(**tables.hints("learning_paths"))
    @context.contained("learning_paths")
    def learning_paths() -> Iterator[object]:
        paths = learning_path_records(context)
        links = []
        for path in paths:
            for course in path.get("courses") or []:
                if isinstance(course, dict):
                    link = {
                        "learning_path_id": path.get("id"),
                        "course_id": course.get("id", course.get("course_id")),
                        "name": course.get("name"),
                        "sequence": course.get("sequence"),
                    }
                    links.append({**link, "row_hash": row_hash(link)})
        rows = [{k: v for k, v in p.items() if k != "courses"} for p in paths]
        context.progress.update("learning_paths", rows=len(rows))
        if rows:
            yield tables.to_table("learning_paths", rows, context.issues)
        if links:
            yield child_table(tables.to_table("learning_path_courses", links, context.issues), "learning_path_courses")

    return learning_paths
