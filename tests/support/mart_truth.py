"""What the main marts must show, stated from the simulated portal's ground truth in plain Python.

Independent of our SQL and of the extractor: nothing here imports pipelines.learnupon (its parsers,
its column lists) or reads the dbt models. The inputs are the simulator's ground-truth tables
(`SimulatedPortal.ground_truth()`: records as the API gives them), read with the reference's own
words:
- completions per course family: learners with an enrollment whose status is completed or passed
  (enrollment `status`), on any version of the family (`courses.source_id` names the family);
- exam verdicts: the exam enrollment's `status` (Passed / Failed), surveys left out;
- overdue learners: the enrollment's `is_overdue` flag on the enrollment whose due date applies
  (the newest one not unenrolled that carries a `due_date`), unless a completion with a valid
  certificate covers the family; the reason is an expired certificate when there was a completion;
- attendance per session: each learner's `session_status` code and their parts' `status` codes
  (-10 not registered, 40 no-show; a part marked present (10) or the session completed (20) is
  present; a part marked absent (5) is absent; else unmarked).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from typing import Any

Truth = dict[str, list[dict[str, Any]]]

COMPLETE = {"completed", "passed"}


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _flag(value: Any) -> bool:
    return value in (True, 1, "1") or str(value).strip().lower() == "true"


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).date()


def _moment(value: Any) -> datetime:
    if value in (None, ""):
        return datetime.min.replace(tzinfo=timezone.utc)
    moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def families(truth: Truth) -> dict[int, int]:
    """course id -> its family (the root course id every version names as source_id)."""
    return {int(c["id"]): _int(c.get("source_id")) or int(c["id"]) for c in truth["courses"]}


def _family_of(truth: Truth):
    known = families(truth)
    return lambda course_id: known.get(int(course_id), int(course_id))


def completions_per_family(truth: Truth) -> dict[int, int]:
    """{course family: learners who completed or passed any version}."""
    family = _family_of(truth)
    done = {
        (int(e["user_id"]), family(e["course_id"]))
        for e in truth["enrollments"]
        if str(e.get("status") or "").strip().lower() in COMPLETE
    }
    return dict(Counter(f for _, f in done))


def exam_verdicts(truth: Truth) -> dict[int, bool | None]:
    """{exam enrollment id: the portal's verdict (Passed true, Failed false, anything else none)}, surveys left out."""
    surveys = {int(x["exam_id"]) for x in truth["exams"] if _flag(x.get("is_survey"))}
    verdicts: dict[int, bool | None] = {}
    for ee in truth["exam_enrollments"]:
        if int(ee["exam_id"]) in surveys:
            continue
        status = str(ee.get("status") or "").strip().lower()
        verdicts[int(ee["exam_enrollment_id"])] = True if status in ("passed", "pass") else False if status in ("failed", "fail") else None
    return verdicts


def overdue_learners(truth: Truth, as_of: date) -> dict[tuple[int, int], str]:
    """{(user id, course family): why it is overdue} per the portal's is_overdue flags."""
    family = _family_of(truth)
    by_item: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for e in truth["enrollments"]:
        by_item[(int(e["user_id"]), family(e["course_id"]))].append(e)
    overdue = {}
    for item, enrollments in by_item.items():
        dated = [e for e in enrollments if e.get("due_date") and not _flag(e.get("unenrolled"))]
        if not dated:
            continue
        applies = max(dated, key=lambda e: (_int(e.get("version")) or 1, _moment(e.get("date_enrolled")), int(e["id"])))
        if not _flag(applies.get("is_overdue")):
            continue
        completions = [e for e in enrollments if str(e.get("status") or "").strip().lower() in COMPLETE]
        if any(_date(e.get("cert_expires_at")) is None or _date(e.get("cert_expires_at")) >= as_of for e in completions):
            continue  # a valid completion covers the family
        overdue[item] = "certificate_expired_and_reenrollment_overdue" if completions else "not_completed_by_due_date"
    return overdue


def attendance_per_session(truth: Truth) -> dict[int, Counter[str]]:
    """{session id: learners by attendance state}."""
    per_session: dict[int, Counter[str]] = defaultdict(Counter)
    for row in truth["session_attendance"]:
        code = _int(row.get("session_status"))
        parts = {_int(p.get("status")) for p in row.get("attendance_data") or []}
        if code == -10:
            state = "not_registered"
        elif code == 40:
            state = "no_show"
        elif 10 in parts or code == 20:
            state = "present"
        elif 5 in parts:
            state = "absent"
        else:
            state = "unmarked"
        per_session[int(row["session_id"])][state] += 1
    return dict(per_session)


def session_status_codes(truth: Truth) -> dict[tuple[int, int], int | None]:
    """{(session id, user id): the learner's session_status code as the portal gives it}."""
    return {(int(r["session_id"]), int(r["user_id"])): _int(r.get("session_status")) for r in truth["session_attendance"]}
