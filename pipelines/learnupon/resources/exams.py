"""Exams, their questions and answer options, exam enrollments, learners' answers, and assignment answers.

Cost model (the API has no change filter for any of these):
- exams, exam_questions, exam_question_options: 2 calls per exam never read
  before (GET /exams/{id}, GET /exams/{id}/questions); the state remembers them.
- exam_enrollments: GET /exams/{id}/enrollments per exam, every run.
- exam_answers: GET /exams/{id}/answers/{exam_enrollment_id}, the most
  expensive fan-out, only for exam enrollments that are new or changed since
  their answers were last fetched. What was fetched, with the exam enrollment's
  fingerprint at that time, is kept in the warehouse table exam_answer_fetches,
  and the runner loads answers in batches, so an interrupted run loses at most
  one batch and the next run resumes with what is still pending.
- assignment_answers: GET /assignments/{id}/answers per assignment module, every run.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from ..fanout import fan_out
from ..records import extract_records, int_or_none
from ..settings import ASSIGNMENT_ANSWERS_KEYS, EXAM_ENROLLMENTS_KEYS, EXAM_KEYS, EXAM_QUESTIONS_KEYS
from .catalog import module_index
from .common import child_table, json_text, row_hash, listing_complete

# how questions are read; an exam read under an older reading is read again once (2: rating options as rows)
QUESTIONS_READING = 2

# overall_status: the sample says "correct", the attribute table 0/1/2
OVERALL_STATUS = {"0": "not_attempted", "1": "correct", "2": "incorrect"}


def exam_ids(context: ExtractContext) -> list[int]:
    return sorted({e for entry in module_index(context).values() for e in entry["exams"]})


def assignment_ids(context: ExtractContext) -> list[int]:
    return sorted({a for entry in module_index(context).values() for a in entry["assignments"]})


# ---- exams, questions, answer options -----------------------------------------------


def _read_exam(context: ExtractContext, exam_id: int) -> tuple[int, list[dict], list[dict], list[dict]]:
    settings = extract_records(context.client.get_json(f"/exams/{exam_id}"), EXAM_KEYS, "GET /exams/{id}")
    exams = [{**s, "exam_id": int_or_none(s.get("exam_id")) or exam_id} for s in settings]
    body = context.client.get_json(f"/exams/{exam_id}/questions")
    questions, options = [], []
    for question in extract_records(body, EXAM_QUESTIONS_KEYS, "GET /exams/{id}/questions"):
        questions.append({**{k: v for k, v in question.items() if k not in ("answers", "rating_options")}, "exam_id": exam_id})
        options.extend(question_options(context, exam_id, question))
    return exam_id, exams, questions, options


def question_options(context: ExtractContext, exam_id: int, question: dict[str, Any]) -> list[dict[str, Any]]:
    """A question's answer options, then its rating options (survey rating questions), one row per answer_id.

    The reference lists `rating_options` ({answer_id, text, sequence}) among the attributes of the
    answers object: it may come inside each answer (the statements to rate, each with the scale), as
    an answers object holding only it, or beside the answers on the question; each gives the scale's
    options as rows of their own. An answer that only carries the scale is not an option; the same
    scale repeated under each statement is one.
    """
    question_id = question.get("question_id")
    answers = question.get("answers") or []
    answers = [answers] if isinstance(answers, dict) else answers
    rows: list[dict[str, Any]] = []
    scale: list[Any] = list(_listed(question.get("rating_options")))
    for answer in answers:
        if not isinstance(answer, dict):
            continue
        scale.extend(_listed(answer.get("rating_options")))
        if set(answer) <= {"rating_options"}:
            continue  # the answers object of a rating question: a holder for the scale
        rows.append({**answer, "exam_id": exam_id, "question_id": question_id, "is_rating_option": False})
    taken = {str(r.get("answer_id")): r for r in rows if r.get("answer_id") is not None}
    for option in scale:
        if not isinstance(option, dict):
            continue
        row = {**{k: v for k, v in option.items() if k != "text"}, "answer_text": option.get("text", option.get("answer_text")),
               "exam_id": exam_id, "question_id": question_id, "is_rating_option": True}
        key = str(option.get("answer_id")) if option.get("answer_id") is not None else None
        if key is not None and key in taken:
            if not taken[key].get("is_rating_option") or taken[key].get("answer_text") != row["answer_text"]:
                context.issues.add("exam_question_options", f"{exam_id},{question_id},{key}", "answer_id", json_text(option),
                                   "rating option with the answer_id of another option: dropped")
            continue  # the scale repeated under another statement
        if key is not None:
            taken[key] = row
        rows.append(row)
    return rows


def _listed(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    return value if isinstance(value, list) else []


def exams_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("exams"))
    @context.contained("exams")
    def exams() -> Iterator[Any]:
        read = dlt.current.source_state().setdefault("exams_read", {})
        todo = [e for e in exam_ids(context) if read.get(str(e)) != QUESTIONS_READING]
        for exam_id, settings, questions, options in fan_out(
            todo, lambda e: [_read_exam(context, e)], context.options.workers
        ):
            read[str(exam_id)] = QUESTIONS_READING
            context.client.stats.add("GET /exams/{id}", records=len(settings))
            context.client.stats.add("GET /exams/{id}/questions", records=len(questions))
            context.progress.update("exams", rows=1)
            if settings:
                yield tables.to_table("exams", settings, context.issues)
            if questions:
                yield child_table(tables.to_table("exam_questions", questions, context.issues), "exam_questions")
            if options:
                yield child_table(tables.to_table("exam_question_options", options, context.issues), "exam_question_options")
        if todo:  # each exam read whole: its questions and options not shown again are retired
            for table in ("exams", "exam_questions", "exam_question_options"):
                yield listing_complete(context, table, todo)

    return exams



# ---- exam enrollments ------------------------------------------------------------------


def exam_enrollment_fingerprint(record: dict[str, Any]) -> str:
    """What changes when an attempt does: answers are fetched again for an exam enrollment whose fingerprint moved."""
    fields = ("status", "attempts_used", "score", "date_completed", "time_taken")
    return row_hash({k: record.get(k) for k in fields})


def _list_exam_enrollments(context: ExtractContext, exam_id: int) -> Iterator[list[dict]]:
    path = f"/exams/{exam_id}/enrollments"
    for page in context.client.paginate(path, record_keys=EXAM_ENROLLMENTS_KEYS, endpoint="GET /exams/{id}/enrollments"):
        context.progress.update("exam_enrollments", pages=1, rows=len(page.records))
        yield [{**r, "exam_id": int_or_none(r.get("exam_id")) or exam_id} for r in page.records]


def exam_enrollment_index(context: ExtractContext) -> dict[int, tuple[int, str]]:
    """exam_enrollment_id -> (exam_id, fingerprint) for the whole portal, listed once per run."""

    def build() -> dict[int, tuple[int, str]]:
        index: dict[int, tuple[int, str]] = {}
        pages = fan_out(exam_ids(context), lambda e: _list_exam_enrollments(context, e), context.options.workers)
        for records in pages:
            _index(index, records)
        return index

    return context.run_cache.exam_enrollment_index.get(build)


def _index(index: dict[int, tuple[int, str]], records: list[dict]) -> None:
    for r in records:
        if (ee := int_or_none(r.get("exam_enrollment_id"))) is not None:
            index[ee] = (int_or_none(r.get("exam_id")), exam_enrollment_fingerprint(r))


def exam_enrollments_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("exam_enrollments"))
    @context.contained("exam_enrollments")
    def exam_enrollments() -> Iterator[pa.Table]:
        index: dict[int, tuple[int, str]] = {}
        pages = fan_out(exam_ids(context), lambda e: _list_exam_enrollments(context, e), context.options.workers)
        for records in pages:
            _index(index, records)
            if records:
                yield tables.to_table("exam_enrollments", records, context.issues)
        yield listing_complete(context, "exam_enrollments", exam_ids(context))
        context.run_cache.exam_enrollment_index.set(index)  # exam_answers needs it: no second listing

    return exam_enrollments


# ---- exam answers ---------------------------------------------------------------------


def _answer_rows(exam_enrollment_id: int, exam_id: int, body: Any) -> list[dict[str, Any]]:
    body = body if isinstance(body, dict) else {"questions": body}
    rows = []
    for question in body.get("questions") or []:
        if not isinstance(question, dict):
            continue
        answers = question.get("answers") if isinstance(question.get("answers"), dict) else {}
        given = answers.get("given_answer", answers.get("given_answers"))
        correct = answers.get("correct_answer", answers.get("correct_answers"))
        status = question.get("overall_status")
        status_text = None if status is None else OVERALL_STATUS.get(str(status).strip(), str(status).strip().lower())
        rows.append(
            {
                "exam_enrollment_id": exam_enrollment_id,
                "exam_id": int_or_none(body.get("exam_id")) or exam_id,
                "question_id": question.get("question_id"),
                "question_text": question.get("question_text"),
                "overall_status": status_text,
                "given_answer": _joined(given),
                "correct_answer": _joined(correct),
                "given_answers_json": json_text(given),
                "correct_answers_json": json_text(correct),
                "user": body.get("user"),
                "email": body.get("email"),
            }
        )
    return rows


def _joined(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return " | ".join(str(v) for v in value)
    return str(value)


def exam_answers_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("exam_answers"))
    @context.contained("exam_answers")
    def exam_answers() -> Iterator[Any]:
        index = exam_enrollment_index(context)
        # what earlier runs fetched (read before the extract), and this run's earlier batches
        fetched = context.facts.exam_answer_fingerprints
        pending = sorted(ee for ee, (_, fp) in index.items() if fetched.get(ee) != fp)
        batch, rest = pending[: context.options.answer_batch], pending[context.options.answer_batch :]
        context.run_cache.pending["exam_answers"] = len(rest)

        def fetch(ee: int) -> Iterator[tuple[int, list[dict]]]:
            exam_id = index[ee][0]
            body = context.client.get_json(f"/exams/{exam_id}/answers/{ee}", endpoint="GET /exams/{id}/answers/{id}")
            yield ee, _answer_rows(ee, exam_id, body)

        now = datetime.now(timezone.utc)
        rows: list[dict] = []
        fetches: list[dict] = []
        for ee, answer_rows in fan_out(batch, fetch, context.options.workers):
            context.client.stats.add("GET /exams/{id}/answers/{id}", records=len(answer_rows))
            rows.extend(answer_rows)
            fetches.append({"exam_enrollment_id": ee, "exam_id": index[ee][0], "fingerprint": index[ee][1], "fetched_at": now})
            fetched[ee] = index[ee][1]  # the next batch of this run leaves it out
            context.progress.update("exam_answers", pages=1, rows=len(answer_rows))
            if len(rows) >= 5000:
                yield _answers_table(context, rows)
                rows = []
        if rows:
            yield _answers_table(context, rows)
        if fetches:
            table = tables.to_table(tables.EXAM_ANSWER_FETCHES, fetches, context.issues)
            yield child_table(table, tables.EXAM_ANSWER_FETCHES)
            yield listing_complete(context, "exam_answers", [f["exam_enrollment_id"] for f in fetches])

    return exam_answers


def _answers_table(context: ExtractContext, rows: list[dict]) -> pa.Table:
    return tables.to_table("exam_answers", rows, context.issues)


# ---- assignment answers -------------------------------------------------------------


def assignment_answers_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("assignment_answers"))
    @context.contained("assignment_answers")
    def assignment_answers() -> Iterator[pa.Table]:
        def answers(assignment_id: int) -> Iterator[pa.Table]:
            path = f"/assignments/{assignment_id}/answers"
            for page in context.client.paginate(path, record_keys=ASSIGNMENT_ANSWERS_KEYS, endpoint="GET /assignments/{id}/answers"):
                context.progress.update("assignment_answers", pages=1, rows=len(page.records))
                if page.records:
                    records = [{**r, "assignment_id": r.get("assignment_id", assignment_id)} for r in page.records]
                    # the reference's table spells one key "reviewed_ at"
                    records = [{**r, "reviewed_at": r.get("reviewed_at", r.get("reviewed_ at"))} for r in records]
                    yield tables.to_table("assignment_answers", records, context.issues)

        assignments = assignment_ids(context)
        yield from fan_out(assignments, answers, context.options.workers)
        yield listing_complete(context, "assignment_answers", assignments)

    return assignment_answers
