"""Courses (every version, drafts and archived included), their modules, and learning paths.

The course list is fetched once per run by the extract context, because the
enrollment search fans out over it too.
"""

from __future__ import annotations

from collections.abc import Iterator

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import schema
from ..arrow import to_arrow
from ..context import ExtractContext, _safe_int
from ..fanout import fan_out
from ..settings import LEARNING_PATHS_KEYS, LEARNING_PATHS_PATH, MODULES_KEYS, MODULES_PATH
from .common import child_table, listing_complete, row_hash


def courses_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(name="courses", write_disposition="merge", primary_key="id")
    @context.contained("courses")
    def courses() -> Iterator[pa.Table]:
        records = context.courses(refresh_versions=True)
        for start in range(0, len(records), 1000):
            yield to_arrow(records[start : start + 1000], schema.COURSES, table="courses", key=["id"], issues=context.issues)
        # versions of a family completed in an earlier run are remembered, not listed again: they stay
        yield listing_complete(context, "courses", keep=("id", context.remembered_course_ids()))

    return courses


# ---- modules -------------------------------------------------------------------
# GET /modules?course_id= per course. A published or archived course version's
# modules do not change (edits make a new version), so a course is re-read only
# when it is new, a draft/under revision, or its number_of_modules changed. The
# source state remembers, per course, what was read and its exam and assignment
# module ids, which the exam and assignment resources fan out over.

STABLE_STATUSES = {"published", "archived"}
# a module as placed in a course version, once per live-learning session (session_key: its session_id, 0 if none)
MODULE_KEY = ("course_id", "id", "session_key")


def _module_signature(course: dict) -> list:
    return [course.get("number_of_modules"), str(course.get("published_status_id") or "").lower()]


def modules_to_read(context: ExtractContext) -> list[dict]:
    known = dlt.current.source_state().get("course_modules", {})
    todo = []
    for course in context.courses():
        cid = _safe_int(course.get("id"))
        if cid is None:
            continue
        seen = known.get(str(cid))
        signature = _module_signature(course)
        if seen is None or seen.get("sig") != signature or signature[1] not in STABLE_STATUSES:
            todo.append(course)
    return todo


def read_modules(context: ExtractContext, course: dict) -> list[dict]:
    cid = _safe_int(course.get("id"))
    records = []
    # a live-learning module comes once per session, with the same id: (id, session_id) is the record
    for page in context.client.paginate(MODULES_PATH, {"course_id": cid}, record_keys=MODULES_KEYS, unique_key=("id", "session_id")):
        context.progress.update("modules", pages=1, rows=len(page.records))
        records.extend({**r, "course_id": cid, "session_key": _safe_int(r.get("session_id")) or 0} for r in page.records)
    return records


def module_index(context: ExtractContext) -> dict[int, dict[str, list[int]]]:
    """course id -> its exam and assignment module ids: from state, plus courses read this run."""
    def build() -> dict[int, dict[str, list[int]]]:
        index = {
            int(cid): {"exams": entry.get("exams", []), "assignments": entry.get("assignments", [])}
            for cid, entry in dlt.current.source_state().get("course_modules", {}).items()
        }
        fresh = context._cache.get("modules_read") or {}
        missing = [c for c in context.courses() if _safe_int(c.get("id")) not in index and _safe_int(c.get("id")) not in fresh]
        for course in missing:  # the modules resource did not run first: read them, without touching its state
            fresh[_safe_int(course.get("id"))] = read_modules(context, course)
        for cid, records in fresh.items():
            index[cid] = _ids_of(records)
        return index

    return context.cached("module_index", build)


def _ids_of(records: list[dict]) -> dict[str, list[int]]:
    exams, assignments = set(), set()
    for r in records:
        kind = str(r.get("component_type") or "").lower()
        if (exam_id := _safe_int(r.get("exam_id"))) is not None:
            exams.add(exam_id)
        elif kind == "exam" and (mid := _safe_int(r.get("id"))) is not None:
            exams.add(mid)
        if kind == "assignment" and (mid := _safe_int(r.get("id"))) is not None:
            assignments.add(mid)  # assignment_id is the module id
    return {"exams": sorted(exams), "assignments": sorted(assignments)}


def modules_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(name="modules", write_disposition="merge", primary_key=list(MODULE_KEY))
    @context.contained("modules")
    def modules() -> Iterator[pa.Table]:
        state = dlt.current.source_state().setdefault("course_modules", {})
        read_now: dict[int, list[dict]] = {}
        todo = modules_to_read(context)
        for course, records in fan_out(todo, lambda c: [(c, read_modules(context, c))], context.options.workers):
            cid = _safe_int(course.get("id"))
            read_now[cid] = records
            state[str(cid)] = {"sig": _module_signature(course), **_ids_of(records)}
            if records:
                yield to_arrow(records, schema.MODULES, table="modules", key=list(MODULE_KEY), issues=context.issues)
        if read_now:
            yield listing_complete(context, "modules", read_now)
        context.put("modules_read", read_now)

    return modules


# ---- learning paths --------------------------------------------------------------


def learning_path_records(context: ExtractContext) -> list[dict]:
    """The listing: draft and published paths (archived ones are not listed, by the reference's reading)."""
    params = {"include_courses": "true", "include_draft": "true"}
    return context.cached(
        "learning_paths",
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
    listed = {i for p in learning_path_records(context) if (i := _safe_int(p.get("id"))) is not None}
    merged = sorted(listed | {int(i) for i in known})
    known[:] = merged
    return merged


def remember_learning_paths(ids: set[int]) -> None:
    """Paths found outside the listing (a user's learning-path enrollments) join those searched every run."""
    known = dlt.current.source_state().setdefault("known_learning_paths", [])
    known[:] = sorted({int(i) for i in known} | {int(i) for i in ids})


def learning_paths_resource(context: ExtractContext) -> DltResource:
    """learning_paths (merge on id) and learning_path_courses (SCD2: a course taken off a path is retired)."""

    @dlt.resource(name="learning_paths", write_disposition="merge", primary_key="id")
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
            yield to_arrow(rows, schema.LEARNING_PATHS, table="learning_paths", key=["id"], issues=context.issues)
        if links:
            table = to_arrow(
                links, schema.LEARNING_PATH_COURSES, table="learning_path_courses", key=["learning_path_id", "course_id"], issues=context.issues
            )
            yield child_table(table, "learning_path_courses")

    return learning_paths
