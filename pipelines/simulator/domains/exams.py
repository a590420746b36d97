"""Exams and surveys (settings, questions, exam enrollments, answers), assignment answers and mark-completes.

GET /exams/{exam_id}[/questions|/enrollments|/answers/{exam_enrollment_id}],
GET /assignments/{assignment_id}/answers[/{answer_id}], GET /markcompletes.

Exam enrollments, answers and assignment answers are derived from the course
enrollment they belong to and a hash of (seed, ids): they cost no memory,
change when the enrollment changes, and never disagree with it.
`exam_enrollment_id` and the assignment answer `id` are
`enrollment_id * 10 + position of the module` among the course's graded modules.
"""

from __future__ import annotations

import random
from typing import Any, Optional

from ..api import ApiContext, ApiError, Behaviour, Params, Result, without
from ..model import State, User
from ..rng import Stamp, how_many, mix, unit
from ..timefmt import DAY, iso

# strict mode: fields the reference's tables do not show
STRICT_MARKCOMPLETE_OMITS = ("enrollment_id",)  # "Attributes returned for MarkCompletes"
# exam enrollment user_id, portal_membership_id: "Will not show for an anonymous survey"; strict surveys are anonymous
STRICT_SURVEY_ENROLLMENT_OMITS = ("user_id", "portal_membership_id")


# --- data ------------------------------------------------------------------------------

def generate_exams(st: State, rng: random.Random) -> None:
    """One exam per exam module, 4-8 choice questions; ~20% of questions are hard; 10% surveys."""
    for m in st.modules.values():
        if m.component_type != "exam":
            continue
        survey = rng.random() < 0.1
        questions = []
        for qn in range(rng.randint(4, 8)):
            qid = m.exam_id * 100 + qn
            options = [f"Option {chr(65 + k)}" for k in range(rng.randint(3, 4))]
            correct = rng.randrange(len(options))
            questions.append({"question_id": qid, "text": f"<p>{m.title}: question {qn + 1}?</p>",
                              "options": options, "correct": correct, "points": rng.choice((1, 2, 5)),
                              # a few questions most learners get wrong
                              "p_correct": 0.25 if rng.random() < 0.2 else 0.88,
                              "trap": (correct + 1) % len(options)})
        if survey:
            questions.append(rating_question(st, m.exam_id * 100 + len(questions), m.title))
        st.exams[m.exam_id] = {"exam_id": m.exam_id, "module_id": m.id, "name": m.title, "is_survey": survey,
                               "is_timed_exam": rng.random() < 0.4, "time_for_exam": rng.choice((10, 20, 30)),
                               "pass_percentage": rng.choice((50, 70, 80)), "attempts": rng.choice((None, None, 1, 3)),
                               "is_knowledge_check": rng.random() < 0.1, "questions": questions,
                               "string_flags": rng.random() < 0.3}


RATING_SCALE = ("Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree")
RATED = ("The content was relevant to my role", "The pace was right", "I would recommend this course")
# where a rating question's scale sits in its answer ids: statements are question_id*10 + 0..2, the scale + 5..9
RATING_ANSWER_ID_OFFSET = 5


def rating_question(st: State, qid: int, title: str) -> dict[str, Any]:
    """A survey's rating question: statements to rate, each on the same scale (the reference's rating_options)."""
    statements = list(RATED[: 2 + mix(st.seed, qid) % 2])
    return {"question_id": qid, "type": "rating", "text": f"<p>{title}: how far do you agree?</p>",
            "statements": statements, "options": list(RATING_SCALE), "correct": None, "points": 0,
            "p_correct": 0.0, "trap": 0}


def rating_options(qn: dict[str, Any]) -> list[dict[str, Any]]:
    """A rating question's scale as the reference's Rating_options object attributes: answer_id, text, sequence."""
    return [{"answer_id": qn["question_id"] * 10 + RATING_ANSWER_ID_OFFSET + k, "text": text, "sequence": k + 1}
            for k, text in enumerate(qn["options"])]


def passed_by_admin(h: int) -> bool:
    """An exam enrollment an admin passed by hand below the pass percentage (about one pass in ten)."""
    return unit(mix(h, 5)) < 0.1


def add_markcomplete(st: State, rng: random.Random, eid: int, created: int, staff: list[int]) -> dict[str, Any]:
    e = st.enrollments[eid]
    via_api = rng.random() < 0.3
    mc = {"id": st.new_id("markcomplete"), "enrollment_id": eid, "created_at": created,
          "date_completed": e.date_completed, "status": e.status, "percentage": e.percentage,
          "user_id": None if via_api or not staff else rng.choice(staff),
          "notes": rng.choice(("Completed offline training", "Exemption approved by HR", "Imported from previous LMS", None)),
          "action_source_type": "API" if via_api else "UI"}
    st.markcompletes[mc["id"]] = mc
    return mc


def generate_markcompletes(st: State, rng: random.Random) -> None:
    """~3% of finished enrollments were marked complete by staff or through the API."""
    staff = [u.id for u in st.users.values() if u.user_type in ("admin", "manager")]
    for e in st.enrollments.values():
        if e.status in ("completed", "passed", "failed") and rng.random() < 0.03:
            add_markcomplete(st, rng, e.id, e.date_completed + rng.randint(0, 3 * DAY), staff)
    # the instructor who reviews a family's assignments (fixed at generation)
    st.assignment_reviewers = {ci["source_id"]: ci["user_id"] for ci in st.course_instructors.values()}


def churn_markcompletes(st: State, rng: random.Random, stamp: Stamp, share: float, who: list[User]) -> dict[str, int]:
    """Staff mark some enrollments finished in this round complete."""
    done = [e for e in st.enrollments.values() if e.status in ("completed", "passed") and e.updated_at > stamp.t0]
    k = min(len(done), how_many(rng, len(st.enrollments) * share * 0.05))
    staff_ids = [u.id for u in who]
    for e in rng.sample(done, k):
        add_markcomplete(st, rng, e.id, max(e.updated_at, stamp()), staff_ids)
    return {"markcompletes_created": k}


def graded_position(st: State, course_id: int, module_id: int) -> int:
    kinds = [mid for mid in st.courses[course_id].module_ids if st.modules[mid].component_type in ("exam", "assignment")]
    return kinds.index(module_id) if module_id in kinds else 0


def retaking(e: Any) -> bool:
    """A learner who failed and went back into the course: in progress, with the score of a graded attempt."""
    return e.status == "in_progress" and bool(e.percentage)


def exam_enrollment(st: State, exam: dict[str, Any], eid: int) -> Optional[dict[str, Any]]:
    """The exam enrollment behind a course enrollment, or None if the learner has not sat it.

    Once sat, it stays while the enrollment exists (a learner retaking the course keeps it).
    """
    e = st.enrollments.get(eid)
    if e is None or e.user_id not in st.users:
        return None
    h = mix(st.seed, eid, exam["exam_id"])
    if e.status == "not_started" or (e.status == "in_progress" and not retaking(e) and unit(h) < 0.6):
        return None
    u = st.users[e.user_id]
    eeid = eid * 10 + graded_position(st, e.course_id, exam["module_id"])
    pass_mark = exam["pass_percentage"]
    if exam["is_survey"]:
        status, score = "Completed", None
    elif e.status in ("passed", "completed", "pending_review"):
        # a pass is a score at or above the exam's own pass percentage, or one an admin set below it
        status = "Passed"
        score = e.percentage if e.percentage is not None and e.percentage >= pass_mark else pass_mark + h % (101 - pass_mark)
        if passed_by_admin(h):  # the portal's status is the verdict, whatever the score
            score = max(0, pass_mark - 1 - mix(h, 6) % 10)
    else:
        status, score = "Failed", 5 + h % (pass_mark - 5)
    # most pass at the first attempt; nobody uses more attempts than the exam allows
    allowed = exam["attempts"] or 4
    attempts = 1 if status != "Failed" and unit(mix(h, 1)) < 0.7 else 1 + mix(h, 2) % 3
    attempts = min(attempts, allowed)
    # a timed exam takes a part of its time limit; an untimed one about one to three minutes a question
    if exam["is_timed_exam"]:
        minutes = exam["time_for_exam"] * (0.3 + 0.7 * unit(mix(h, 3)))
    else:
        minutes = len(exam["questions"]) * (0.8 + 2.2 * unit(mix(h, 3)))
    done = e.date_completed or e.date_lastaccessed or e.date_started
    return {"exam_id": exam["exam_id"], "exam_enrollment_id": eeid, "status": status,
            "time_taken": round(minutes, 1), "attempts_used": attempts, "score": score,
            "user_id": u.id, "portal_membership_id": u.pm_id, "date_completed": done}


def exam_enrollment_ids(st: State, exam: dict[str, Any]) -> list[int]:
    """Course enrollments that can have an enrollment on this exam, in id order."""
    ids: list[int] = []
    for cid in st.modules[exam["module_id"]].course_ids:
        ids.extend(st.enrollments_for(cid))
    return sorted(ids)


def exam_enrollments(st: State, exam: dict[str, Any]) -> list[dict[str, Any]]:
    return [ee for ee in (exam_enrollment(st, exam, eid) for eid in exam_enrollment_ids(st, exam)) if ee]


def exam_answers(st: State, exam: dict[str, Any], ee: dict[str, Any]) -> list[dict[str, Any]]:
    """Per question: correct? and the given option index (wrong answers cluster on a trap option)."""
    out = []
    passed = ee["status"] != "Failed"
    for q in exam["questions"]:
        h = mix(st.seed, ee["exam_enrollment_id"], q["question_id"], ee["attempts_used"])
        p = q["p_correct"] + (0.08 if passed else -0.3)
        if exam["is_survey"]:
            given, correct = h % len(q["options"]), None
        elif unit(h) < p:
            given, correct = q["correct"], True
        else:
            given = q["trap"] if unit(h >> 9) < 0.7 else (q["correct"] + 1 + (h >> 20) % (len(q["options"]) - 1)) % len(q["options"])
            correct = given == q["correct"]
        out.append({"question": q, "given": given, "correct": correct})
    return out


def assignment_answer(st: State, module_id: int, eid: int) -> Optional[dict[str, Any]]:
    e = st.enrollments.get(eid)
    if e is None or not (e.status in ("completed", "passed", "failed", "pending_review") or retaking(e)):
        return None
    h = mix(st.seed, eid, module_id, 7)
    submitted = e.date_completed or e.date_lastaccessed or e.updated_at
    failed = e.status == "failed" or retaking(e)
    reviewed = e.status != "pending_review"
    rejected = failed and unit(h) < 0.5
    reviewer = st.assignment_reviewers.get(st.courses[e.course_id].family.source_id)
    auto = reviewed and (reviewer is None or unit(h >> 5) < 0.5)
    return {"id": eid * 10 + graded_position(st, e.course_id, module_id),
            "answer": "<p>Please see attached document for full response</p>\n",
            "feedback": "<p>Thanks for submitting your assignment.</p>\n" if reviewed else None,
            "score": (e.percentage if e.percentage is not None else 100) if reviewed else None,
            "status": "pending_review" if not reviewed else "failed" if failed else "passed",
            "user_id": e.user_id, "reviewed_at": submitted if reviewed else None, "assignment_id": module_id,
            "answer_submitted_at": submitted, "was_rejected": rejected, "rejected_at": submitted if rejected else None,
            "was_autocompleted": auto, "reviewed_by_user_id": None if auto or not reviewed else reviewer,
            "rejected_by_user_id": reviewer if rejected and not auto else None}


def assignment_answers(st: State, module_id: int) -> list[dict[str, Any]]:
    ids: list[int] = []
    for cid in st.modules[module_id].course_ids:
        ids.extend(st.enrollments_for(cid))
    return [a for a in (assignment_answer(st, module_id, eid) for eid in sorted(ids)) if a]


def graded_children_of(st: State, eid: int) -> list[tuple[str, int]]:
    """(kind, id) of the exam enrollments and assignment answers an enrollment gives (before it is removed)."""
    out: list[tuple[str, int]] = []
    for mid in st.courses[st.enrollments[eid].course_id].module_ids:
        m = st.modules[mid]
        if m.exam_id is not None and m.exam_id in st.exams:
            ee = exam_enrollment(st, st.exams[m.exam_id], eid)
            if ee is not None:
                out.append(("exam_enrollment", ee["exam_enrollment_id"]))
        elif m.component_type == "assignment":
            a = assignment_answer(st, mid, eid)
            if a is not None:
                out.append(("assignment_answer", a["id"]))
    return out


def visible_markcompletes(st: State) -> list[dict[str, Any]]:
    """A mark-complete shows while its enrollment exists."""
    return [mc for mc in st.markcompletes.values() if mc["enrollment_id"] in st.enrollments]


# --- records ----------------------------------------------------------------------------

def exam_settings_record(q: frozenset[str], exam: dict[str, Any]) -> dict[str, Any]:
    if exam["is_survey"]:
        return {"name": exam["name"], "is_survey": True, "exam_id": exam["exam_id"]}
    attempts: Any = exam["attempts"]
    if attempts is None:
        attempts = 0 if "exam_attempts" in q else "unlimited"
    return {"name": exam["name"], "is_survey": False, "exam_id": exam["exam_id"], "is_timed_exam": exam["is_timed_exam"],
            "pass_percentage": exam["pass_percentage"], "pass_mark": None, "is_knowledge_check": exam["is_knowledge_check"],
            "attempts": attempts, "time_for_exam": exam["time_for_exam"] if exam["is_timed_exam"] else None}


def question_record(exam: dict[str, Any], qn: dict[str, Any], rating_place: str) -> dict[str, Any]:
    if qn.get("type") == "rating":
        return rating_question_record(qn, rating_place)
    flag = (lambda v: str(int(v))) if exam["string_flags"] else (lambda v: int(v))  # 1/0, as strings on some exams
    return {"question_id": qn["question_id"], "question_text": qn["text"], "question_type": "choice",
            "question_choice_type": "single", "points": qn["points"],
            "answers": [{"answer_id": qn["question_id"] * 10 + k, "answer_text": text,
                         "is_correct": flag(k == qn["correct"]), "for_matching": None, "sequence": k + 1,
                         "predefined_answers": None} for k, text in enumerate(qn["options"])]}


def rating_question_record(qn: dict[str, Any], place: str) -> dict[str, Any]:
    """A rating question. The reference lists rating_options among the attributes of the answers object and no
    other attribute for a rating question. `place`: "holder" serves answers as that object alone
    ({"rating_options": [...]}, strict); "statements" lists the statements rated as answers, each with the scale as
    its rating_options (the default reading); "question" puts the scale beside the statements, on the question."""
    rec: dict[str, Any] = {"question_id": qn["question_id"], "question_text": qn["text"], "question_type": "rating",
                           "question_choice_type": None, "points": qn["points"]}
    if place == "holder":
        rec["answers"] = {"rating_options": rating_options(qn)}
        return rec
    rec["answers"] = [{"answer_id": qn["question_id"] * 10 + k, "answer_text": text, "is_correct": None,
                       "for_matching": None, "sequence": k + 1, "predefined_answers": None}
                      for k, text in enumerate(qn["statements"])]
    for answer in rec["answers"]:
        if place == "statements":
            answer["rating_options"] = rating_options(qn)
    if place == "question":
        rec["rating_options"] = rating_options(qn)
    return rec


def exam_enrollment_record(ee: dict[str, Any], anonymous: bool) -> dict[str, Any]:
    rec = dict(ee)
    rec["date_completed"] = iso(ee["date_completed"])
    return without(rec, STRICT_SURVEY_ENROLLMENT_OMITS) if anonymous else rec


def answers_record(st: State, q: frozenset[str], exam: dict[str, Any], ee: dict[str, Any]) -> dict[str, Any]:
    alt = "exam_answers" in q
    questions = []
    for a in exam_answers(st, exam, ee):
        qn = a["question"]
        answers: dict[str, Any] = {"given_answers" if alt else "given_answer": [qn["options"][a["given"]]]}
        rec: dict[str, Any] = {"question_text": qn["text"], "question_id": qn["question_id"]}
        if not exam["is_survey"]:
            answers = {"correct_answer": [qn["options"][qn["correct"]]], **answers}
            rec["answers"] = answers
            rec["overall_status"] = (1 if a["correct"] else 2) if alt else ("correct" if a["correct"] else "incorrect")
        else:
            rec["answers"] = answers
        questions.append(rec)
    body: dict[str, Any] = {"exam_id": exam["exam_id"], "questions": questions}
    u = st.users.get(ee["user_id"])
    if u is not None and not exam["is_survey"]:
        body.update({"user": u.name, "email": u.email})
    return body


def assignment_record(a: dict[str, Any]) -> dict[str, Any]:
    rec = dict(a)
    for k in ("reviewed_at", "answer_submitted_at", "rejected_at"):
        rec[k] = iso(a[k])
    return rec


def markcomplete_record(mc: dict[str, Any], strict: bool) -> dict[str, Any]:
    rec = {"id": mc["id"], "created_at": iso(mc["created_at"]), "date_completed": iso(mc["date_completed"]),
           "status": mc["status"], "percentage": mc["percentage"], "user_id": mc["user_id"], "notes": mc["notes"],
           "action_source_type": mc["action_source_type"], "enrollment_id": mc["enrollment_id"]}
    return without(rec, STRICT_MARKCOMPLETE_OMITS) if strict else rec


# --- handlers ----------------------------------------------------------------------------

def find_exam(api: ApiContext, args: dict[str, str]) -> dict[str, Any]:
    exam = api.st.exams.get(int(args["exam_id"]))
    if exam is None:
        raise ApiError(404, "Exam not found")
    return exam


def get_exam(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    return Result({"exam": exam_settings_record(api.q, find_exam(api, args))})


def get_exam_questions(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    exam = find_exam(api, args)
    return Result({"exam_id": exam["exam_id"], "questions": [question_record(exam, qn, api.b.rating_options) for qn in exam["questions"]]})


def get_exam_enrollments(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    exam = find_exam(api, args)
    anonymous = api.b.strict and exam["is_survey"]
    return api.listing(p, "exam_enrollments", exam_enrollments(api.st, exam),
                       lambda ee: exam_enrollment_record(ee, anonymous))


def get_exam_answers(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    st, exam = api.st, find_exam(api, args)
    eeid = int(args["exam_enrollment_id"])
    ee = exam_enrollment(st, exam, eeid // 10)
    if ee is None or ee["exam_enrollment_id"] != eeid or \
            st.enrollments[eeid // 10].course_id not in st.modules[exam["module_id"]].course_ids:
        raise ApiError(404, "Exam enrollment not found")
    return Result(answers_record(st, api.q, exam, ee))


def get_assignment_answers(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    m = api.st.modules.get(int(args["assignment_id"]))
    if m is None or m.component_type != "assignment":
        raise ApiError(404, "Assignment not found")
    return api.listing(p, "assignment_answers", assignment_answers(api.st, m.id), assignment_record)


def get_assignment_answer(api: ApiContext, p: Params, args: dict[str, str]) -> Result:
    m = api.st.modules.get(int(args["assignment_id"]))
    aid = int(args["answer_id"])
    a = assignment_answer(api.st, m.id, aid // 10) if m is not None and m.component_type == "assignment" else None
    if a is None or a["id"] != aid:
        raise ApiError(404, "Assignment answer not found")
    return Result({"assignment_answer": assignment_record(a)})


def list_markcompletes(api: ApiContext, p: Params, _: dict[str, str]) -> Result:
    st = api.st
    mid, uid, eid, cid = (p.opt_int(k) for k in ("id", "user_id", "enrollment_id", "course_id"))
    out = []
    for mc in visible_markcompletes(st):
        e = st.enrollments[mc["enrollment_id"]]
        if (mid is None or mc["id"] == mid) and (uid is None or e.user_id == uid) and \
                (eid is None or mc["enrollment_id"] == eid) and (cid is None or e.course_id == cid):
            out.append(mc)
    return api.listing(p, "markcompletes", out, lambda mc: markcomplete_record(mc, api.b.strict))


ROUTES = (
    ("GET", "/exams/{exam_id}", get_exam),
    ("GET", "/exams/{exam_id}/questions", get_exam_questions),
    ("GET", "/exams/{exam_id}/enrollments", get_exam_enrollments),
    ("GET", "/exams/{exam_id}/answers/{exam_enrollment_id}", get_exam_answers),
    ("GET", "/assignments/{assignment_id}/answers", get_assignment_answers),
    ("GET", "/assignments/{assignment_id}/answers/{answer_id}", get_assignment_answer),
    ("GET", "/markcompletes", list_markcompletes),
)


# --- ground truth ------------------------------------------------------------------------
# Stated from the model on its own, not through the records above, so it can check them.

def truth(st: State, b: Behaviour, now: int) -> dict[str, list[Any]]:
    """exams (settings), exam_questions (+exam_id; answers: the options with an answer_id), exam_enrollments,
    exam_answers (answers body + exam_enrollment_id), exam_question_rating_options (each rating question's scale:
    exam_id, question_id, answer_id, text, sequence), exam_enrollments_passed_by_admin (Passed below the exam's pass
    percentage), assignment_answers, markcompletes."""
    alt_answers, attempts_as_int = "exam_answers" in b.quirks, "exam_attempts" in b.quirks
    settings, questions, enrolled, answered, rated, by_admin = [], [], [], [], [], []
    for exam in st.exams.values():
        if exam["is_survey"]:
            settings.append({"exam_id": exam["exam_id"], "name": exam["name"], "is_survey": True})
        else:
            allowed = exam["attempts"] if exam["attempts"] is not None else 0 if attempts_as_int else "unlimited"
            settings.append({"exam_id": exam["exam_id"], "name": exam["name"], "is_survey": False,
                             "is_timed_exam": exam["is_timed_exam"], "is_knowledge_check": exam["is_knowledge_check"],
                             "pass_percentage": exam["pass_percentage"], "pass_mark": None, "attempts": allowed,
                             "time_for_exam": exam["time_for_exam"] if exam["is_timed_exam"] else None})
        for qn in exam["questions"]:
            if qn.get("type") == "rating":
                statements = [] if b.rating_options == "holder" else [
                    {"answer_id": qn["question_id"] * 10 + k, "answer_text": text, "is_correct": None, "for_matching": None,
                     "sequence": k + 1, "predefined_answers": None} for k, text in enumerate(qn["statements"])]
                questions.append({"exam_id": exam["exam_id"], "question_id": qn["question_id"], "question_text": qn["text"],
                                  "question_type": "rating", "question_choice_type": None, "points": qn["points"],
                                  "answers": statements})
                rated.extend({"exam_id": exam["exam_id"], "question_id": qn["question_id"], **o} for o in rating_options(qn))
                continue
            options = []
            for k, text in enumerate(qn["options"]):
                flag = 1 if k == qn["correct"] else 0
                options.append({"answer_id": qn["question_id"] * 10 + k, "answer_text": text,
                                "is_correct": str(flag) if exam["string_flags"] else flag, "for_matching": None,
                                "sequence": k + 1, "predefined_answers": None})
            questions.append({"exam_id": exam["exam_id"], "question_id": qn["question_id"], "question_text": qn["text"],
                              "question_type": "choice", "question_choice_type": "single", "points": qn["points"],
                              "answers": options})
        for eid in exam_enrollment_ids(st, exam):
            ee = exam_enrollment(st, exam, eid)
            if ee is None:
                continue
            row = {**ee, "date_completed": iso(ee["date_completed"])}
            if ee["status"] == "Passed" and ee["score"] is not None and ee["score"] < exam["pass_percentage"]:
                by_admin.append(ee["exam_enrollment_id"])
            enrolled.append(without(row, STRICT_SURVEY_ENROLLMENT_OMITS) if b.strict and exam["is_survey"] else row)
            body: dict[str, Any] = {"exam_enrollment_id": ee["exam_enrollment_id"], "exam_id": exam["exam_id"],
                                    "questions": [_answer_truth(exam, a, alt_answers) for a in exam_answers(st, exam, ee)]}
            u = st.users.get(ee["user_id"])
            if u is not None and not exam["is_survey"]:
                body["user"], body["email"] = f"{u.first_name} {u.last_name}", u.email
            answered.append(body)
    assignments = []
    for m in st.modules.values():
        if m.component_type != "assignment":
            continue
        for a in assignment_answers(st, m.id):
            assignments.append({**a, "reviewed_at": iso(a["reviewed_at"]),
                                "answer_submitted_at": iso(a["answer_submitted_at"]), "rejected_at": iso(a["rejected_at"])})
    marks = []
    for mc in st.markcompletes.values():
        if mc["enrollment_id"] not in st.enrollments:
            continue
        row = {"id": mc["id"], "enrollment_id": mc["enrollment_id"], "created_at": iso(mc["created_at"]),
               "date_completed": iso(mc["date_completed"]), "status": mc["status"], "percentage": mc["percentage"],
               "user_id": mc["user_id"], "notes": mc["notes"], "action_source_type": mc["action_source_type"]}
        marks.append(without(row, STRICT_MARKCOMPLETE_OMITS) if b.strict else row)
    return {"exams": settings, "exam_questions": questions, "exam_enrollments": enrolled, "exam_answers": answered,
            "exam_question_rating_options": rated, "exam_enrollments_passed_by_admin": by_admin,
            "assignment_answers": assignments, "markcompletes": marks}


def _answer_truth(exam: dict[str, Any], a: dict[str, Any], alt: bool) -> dict[str, Any]:
    qn = a["question"]
    given = [qn["options"][a["given"]]]
    row: dict[str, Any] = {"question_id": qn["question_id"], "question_text": qn["text"]}
    if exam["is_survey"]:
        row["answers"] = {"given_answers" if alt else "given_answer": given}
        return row
    row["answers"] = {"correct_answer": [qn["options"][qn["correct"]]], "given_answers" if alt else "given_answer": given}
    if alt:
        row["overall_status"] = 1 if a["correct"] else 2
    else:
        row["overall_status"] = "correct" if a["correct"] else "incorrect"
    return row
