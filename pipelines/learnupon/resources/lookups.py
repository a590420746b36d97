"""Labels for the integer codes the reference documents, as a table analysts can join."""

from __future__ import annotations

from collections.abc import Iterator

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from .. import tables
from ..context import ExtractContext
from .audit import AUDIT_ACTIONS
from .live_learning import ATTENDANCE_STATUS, SESSION_ENROLLMENT_STATUS, SESSION_STATUS

CUSTOM_FIELD_TYPES = {1: "string", 2: "decimal", 3: "integer", 4: "string_choice", 5: "decimal_choice", 6: "integer_choice", 7: "date"}
COURSE_STATUS = {1: "published", 2: "under_revision", 3: "archived"}
ILT_SESSION_ENROLLMENT_TYPE = {0: "all sessions", 1: "choose one session", 2: "choose several sessions"}

CODES = {
    "session_status": SESSION_STATUS,
    "attendance_status": ATTENDANCE_STATUS,
    "session_enrollment_status": SESSION_ENROLLMENT_STATUS,
    "audit_action": AUDIT_ACTIONS,
    "custom_field_type": CUSTOM_FIELD_TYPES,
    "course_status": COURSE_STATUS,
    "ilt_session_enrollment_type": ILT_SESSION_ENROLLMENT_TYPE,
}


def code_lookups_resource(context: ExtractContext) -> DltResource:
    @dlt.resource(**tables.hints("code_lookups"))
    @context.contained("code_lookups")
    def code_lookups() -> Iterator[pa.Table]:
        rows = [{"code_type": kind, "code": code, "label": label} for kind, codes in CODES.items() for code, label in codes.items()]
        yield tables.to_table("code_lookups", rows, context.issues)

    return code_lookups
