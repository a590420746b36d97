"""Carry out the writes of a plan through the rate-limited client, journalling each one.

Payloads follow the reference to the letter: {"User": {...}} with the user's email (or username)
in every update, new users created with the portal's identifier (email, or username with the
email when the roster has one), CustomData by field name (or by definition id with "use_definition_ids"),
{"GroupMembership": {...}} and {"Invite": {...}}. New users get a generated password and
change_password_on_first_login; the password exists only in the request, and any message that
could echo it is scrubbed before it is recorded.

A write whose reply was lost may have been applied. Before writing again the executor looks:
a create searches the username or email (and accepts the user only if it carries our external id), a delete
reads the user, a membership change reads the user's groups, an invite lists the invitations.
Updates are idempotent and simply repeat.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from ..learnupon.client import LearnUponClient
from ..learnupon.errors import LearnUponAPIError, WeeklyBudgetReserved, WriteOutcomeUnknown
from ..learnupon.records import extract_records
from ..learnupon.settings import USER_GROUPS_KEYS, USERS_KEYS
from . import journal
from .mapping import Mapping

log = logging.getLogger("lms_warehouse.sync")

ATTEMPTS = 4  # tries of one write whose outcome stays unknown


@dataclass
class ApplyResult:
    statuses: dict[str, str] = field(default_factory=dict)  # action_key -> final status
    stopped: str | None = None  # why the apply stopped before the end (weekly budget)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.statuses.values() if s == "failed")

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses.values() if s == status)


def generated_password() -> str:
    """24 random URL-safe characters (well over the reference's 6), with a digit and a letter of each case."""
    while True:
        candidate = secrets.token_urlsafe(18)
        if any(c.isdigit() for c in candidate) and any(c.islower() for c in candidate) and any(c.isupper() for c in candidate):
            return candidate


def scrub(message: str, secret: str | None) -> str:
    return message.replace(secret, "[password]") if secret else message


class Executor:
    def __init__(self, client: LearnUponClient, con: duckdb.DuckDBPyConnection, run_id: str, mapping: Mapping,
                 pause: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.con = con
        self.run_id = run_id
        self.mapping = mapping
        self.pause = pause
        self.created: dict[str, int] = {}  # external id -> id of the user this apply created (joins need it)
        self.not_created: set[str] = set()

    # ---- payloads -----------------------------------------------------------------------------
    def custom_data(self, row: dict[str, Any]) -> dict[str, Any] | None:
        items = json.loads(row["custom_data"]) if row.get("custom_data") else []
        if not items:
            return None
        if self.mapping.custom_data_keys == "definition_id":
            return {"use_definition_ids": 1, **{str(item["definition_id"]): item["value"] for item in items}}
        return {item["label"]: item["value"] for item in items}

    @staticmethod
    def identifier(row: dict[str, Any]) -> dict[str, str]:
        """The reference requires email or username in every update payload: the user's current one."""
        if row.get("current_email"):
            return {"email": row["current_email"]}
        if row.get("current_username"):
            return {"username": row["current_username"]}
        return {"email": row.get("email") or ""}

    def user_update(self, row: dict[str, Any]) -> dict[str, Any]:
        changes = json.loads(row["changes"]) if row.get("changes") else {}
        user: dict[str, Any] = self.identifier(row)
        for name, change in changes.items():
            if name.startswith("CustomData."):
                continue
            if name == "enabled":
                user["enabled"] = change["to"] == "true"
            else:  # a new email goes in `email` with the numeric id in the URL (reference, "Update a user")
                user[name] = change["to"]
        custom = self.custom_data(row)
        if custom:
            user["CustomData"] = custom
        return {"User": user}

    # ---- the actions ----------------------------------------------------------------------------
    def run(self, rows: list[dict[str, Any]], statuses: dict[str, str], in_doubt: set[str] | None = None) -> ApplyResult:
        """Every write in order. `in_doubt`: actions a killed apply had started; each is looked at first."""
        in_doubt = in_doubt or set()
        result = ApplyResult(statuses=dict(statuses))
        for row in rows:
            key = row["action_key"]
            if statuses.get(key) in ("succeeded", "failed"):
                if row["action"] == "create" and statuses[key] == "failed":
                    self.not_created.add(row["external_id"])
                continue
            user_id = row.get("learnupon_user_id") or self.created.get(row["external_id"])
            if row["action"] in ("join_group",) and user_id is None:
                reason = "the user was not created" if row["external_id"] in self.not_created else "no LearnUpon user yet"
                journal.mark(self.con, self.run_id, key, "skipped", error=reason)
                result.statuses[key] = "skipped"
                continue
            journal.mark(self.con, self.run_id, key, "started")
            password = generated_password() if row["action"] == "create" else None
            try:
                done, done_id = self.already_done(row, user_id) if key in in_doubt else (False, None)
                if done:
                    detail = "in doubt when the apply stopped; found applied"
                else:
                    done_id, detail = self.execute(row, user_id, password)
            except WeeklyBudgetReserved as exc:
                # the call was refused before it was sent: the action stays planned for the next apply
                journal.mark(self.con, self.run_id, key, "planned", error=str(exc))
                result.statuses[key] = "planned"
                result.stopped = str(exc)
                return result
            except (LearnUponAPIError, WriteOutcomeUnknown) as exc:
                message = scrub(str(exc), password)
                journal.mark(self.con, self.run_id, key, "failed", error=message[:1000])
                result.statuses[key] = "failed"
                if row["action"] == "create":
                    self.not_created.add(row["external_id"])
                log.warning("sync %s failed: %s", key, message)
                continue
            if row["action"] == "create" and done_id is not None:
                self.created[row["external_id"]] = done_id
            journal.mark(self.con, self.run_id, key, "succeeded", user_id=done_id, detail=detail)
            result.statuses[key] = "succeeded"
        return result

    def execute(self, row: dict[str, Any], user_id: int | None, password: str | None) -> tuple[int | None, str | None]:
        """Do one action; returns (the user's id, a note for the journal). Uncertain outcomes are looked at."""
        action = row["action"]
        if action == "create":
            return self.create(row, password or generated_password())
        if action == "invite":
            return None, self.invite(row)
        if action in ("update", "disable", "release_email"):
            if action == "disable":
                payload = {"User": {**self.identifier(row), "enabled": False}}
            elif action == "release_email":
                payload = {"User": {"email": row["email"]}}  # the placeholder, with the numeric id in the URL
            else:
                payload = self.user_update(row)
            return user_id, self.repeat(lambda: self.client.send("PUT", f"/users/{user_id}", payload), lambda: False)
        if action == "delete":
            return user_id, self.repeat(lambda: self.client.send("DELETE", f"/users/{user_id}"),
                                        lambda: not self.user_exists(user_id))
        if action == "join_group":
            group_id = row["group_id"]
            body: dict[str, Any] = {"GroupMembership": {"group_id": group_id, "user_id": user_id}}
            if not self.mapping.process_enrollments:  # the reference does not say where the flag goes: both places
                body["GroupMembership"]["process_enrollments"] = False
                body["process_enrollments"] = False
            return user_id, self.repeat(lambda: self.client.send("POST", "/group_memberships", body),
                                        lambda: group_id in self.groups_of(user_id), refused_check=True)
        if action == "leave_group":
            group_id = row["group_id"]
            target = {"group_id": group_id, "user_id": user_id}
            options = {} if self.mapping.process_unenrollments else {"process_unenrollments": False}
            if row.get("membership_id"):
                path, body = f"/group_memberships/{row['membership_id']}", ({**options} or None)
            else:
                path, body = "/group_memberships/0", {"GroupMembership": {**target, **options}, **options}
            return user_id, self.repeat(lambda: self.client.send("DELETE", path, body),
                                        lambda: group_id not in self.groups_of(user_id), refused_check=True)
        raise ValueError(f"unknown action {action}")

    def repeat(self, write: Callable[[], Any], applied: Callable[[], bool], refused_check: bool = False) -> str | None:
        """The write; after a lost reply look with `applied()` before writing again. Returns a note for
        the journal when a look settled it (None when the write simply succeeded).

        With refused_check, a 4xx is also looked at: a membership someone already made (or removed)
        is what we wanted, not a failure.
        """
        lost = 0
        for attempt in range(1, ATTEMPTS + 1):
            try:
                write()
                return f"reply lost {lost} time(s); written again" if lost else None
            except WriteOutcomeUnknown:
                lost += 1
                if applied():
                    return "reply lost; found applied"
                if attempt == ATTEMPTS:
                    raise
                self.pause(min(2.0, 0.2 * attempt))
            except LearnUponAPIError as exc:
                if refused_check and exc.status in (400, 404, 409, 422) and applied():
                    return f"refused ({exc.status}), but LearnUpon already has it as wanted"
                raise
        return None

    @staticmethod
    def identity(row: dict[str, Any]) -> dict[str, str]:
        """What a new user is created or invited with: the username (username portals) and the email, each if known."""
        return {name: row[name] for name in ("username", "email") if row.get(name)}

    def create(self, row: dict[str, Any], password: str) -> tuple[int | None, str | None]:
        user: dict[str, Any] = self.identity(row)
        for name in ("first_name", "last_name"):
            if row.get(name):
                user[name] = row[name]
        user["password"] = password
        user["change_password_on_first_login"] = True
        custom = self.custom_data(row)
        if custom:
            user["CustomData"] = custom
        payload = {"User": user}
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self.client.send("POST", "/users", payload)
                found = _id_in(reply)
                return (found, None) if found is not None else (self.ours(row), f"id read back by {_search_key(row)}")
            except WriteOutcomeUnknown:
                found = self.ours(row)
                if found is not None:
                    return found, f"reply lost; the user was found by {_search_key(row)} with our external id"
                if attempt == ATTEMPTS:
                    raise
                self.pause(min(2.0, 0.2 * attempt))
            except LearnUponAPIError as exc:
                if exc.status in (400, 409, 422):  # e.g. email taken: by a user of ours from a lost earlier reply?
                    found = self.ours(row)
                    if found is not None:
                        return found, f"already created (found by {_search_key(row)} with our external id)"
                raise
        return None, None

    def invite(self, row: dict[str, Any]) -> str:
        invite: dict[str, Any] = self.identity(row)  # the email always (the plan refuses a row without one)
        for name in ("first_name", "last_name"):
            if row.get(name):
                invite[name] = row[name]
        custom = self.custom_data(row)
        if custom:
            invite["CustomData"] = custom
        for attempt in range(1, ATTEMPTS + 1):
            try:
                reply = self.client.send("POST", "/portal_invite", {"Invite": invite})
                return f"invite {_id_in(reply)}"
            except WriteOutcomeUnknown:
                if self.invited(row["email"]):
                    return "reply lost; the invitation was found"
                if attempt == ATTEMPTS:
                    raise
                self.pause(min(2.0, 0.2 * attempt))
        return ""

    # ---- looks ------------------------------------------------------------------------------------
    def already_done(self, row: dict[str, Any], user_id: int | None) -> tuple[bool, int | None]:
        """For an action a killed apply had started: whether LearnUpon shows it done (and the user's id).

        Updates are not looked at: repeating one is harmless.
        """
        action = row["action"]
        if action == "create":
            found = self.ours(row)
            return found is not None, found
        if action == "invite":
            return self.invited(row["email"]), None
        if user_id is None or action in ("update", "disable", "release_email"):
            return False, user_id
        if action == "delete":
            return not self.user_exists(user_id), user_id
        member = row["group_id"] in self.groups_of(user_id)
        return (member if action == "join_group" else not member), user_id

    def ours(self, row: dict[str, Any]) -> int | None:
        """The id of the user with this row's username (or email), if it carries our external id (else None)."""
        key = _search_key(row)
        wanted = str(row[key]).strip().lower()
        try:
            body = self.client.get_json("/users/search", {key: row[key]})
        except LearnUponAPIError as exc:
            if exc.status == 404:
                return None
            raise
        for record in extract_records(body, USERS_KEYS):
            if str(record.get(key) or "").strip().lower() != wanted:
                continue
            if _external_id(record, body, self.mapping.external_id_field) == row["external_id"]:
                return _id_in(record)
        return None

    def user_exists(self, user_id: int) -> bool:
        try:
            self.client.get_json(f"/users/{user_id}")
        except LearnUponAPIError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def groups_of(self, user_id: int) -> set[int]:
        groups: set[int] = set()
        for page in self.client.paginate("/group_memberships", {"user_id": user_id}, record_keys=USER_GROUPS_KEYS):
            for record in page.records:
                if record.get("id") is not None:
                    groups.add(int(record["id"]))
        return groups

    def invited(self, email: str) -> bool:
        for page in self.client.paginate("/group_invites", {"invite_email_address": email},
                                         record_keys=("group_invite", "group_invites")):
            for record in page.records:
                if str(record.get("invite_email_address") or "").lower() == email.lower() and \
                        str(record.get("invite_status") or "sent") == "sent":
                    return True
        return False


def _search_key(row: dict[str, Any]) -> str:
    """How a new user is looked up (GET /users/search): by username where it was created with one."""
    return "username" if row.get("username") else "email"


def _id_in(reply: Any) -> int | None:
    """The id in a reply: {"id": 1}, or the same inside a wrapper object or a one-element list."""
    if isinstance(reply, list) and len(reply) == 1:
        return _id_in(reply[0])
    if isinstance(reply, dict):
        if reply.get("id") is not None:
            try:
                return int(reply["id"])
            except (TypeError, ValueError):
                return None
        for value in reply.values():
            if isinstance(value, (dict, list)):
                found = _id_in(value)
                if found is not None:
                    return found
    return None


def _external_id(record: dict[str, Any], body: Any, label: str) -> str | None:
    """The external id in a user record, from either documented shape of custom data."""
    wanted = label.strip().lower()
    data = record.get("CustomData")
    if isinstance(data, dict):
        for key, value in data.items():
            if str(key).strip().lower() == wanted:
                return _scalar(value)
    definitions = []
    if isinstance(body, dict):
        definitions = body.get("customDataFieldDefinitions") or body.get("customDataFieldDefintions") or []
    ids = {d.get("id") for d in definitions if isinstance(d, dict) and str(d.get("label", "")).strip().lower() == wanted}
    for item in record.get("customDataFieldValues") or []:
        if isinstance(item, dict) and item.get("definition_id") in ids:
            return _scalar(item.get("value"))
    return None


def _scalar(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return None if value is None else str(value).strip()
