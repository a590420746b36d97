"""Rosters for the user-sync tests, built from what the simulated portal holds (read over HTTP).

`people()` reads the portal through its API, like any HR integration would, and returns the
managed users (those with an employee id) with the fields a roster carries. A roster written from
them unchanged is "in step"; the tests change, add and drop rows to make every case.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from pipelines.cli import main as cli_main
from pipelines.learnupon.client import LearnUponClient

COLUMNS = ["employee_id", "email", "first_name", "last_name", "department", "location", "job_title",
           "manager_employee_id", "active"]
ID_FIELD = "employee id"


def client_for(portal: Any) -> LearnUponClient:
    return LearnUponClient(portal.base_url, portal.config.username, portal.config.password, backoff_base=0.05)


def _value(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def portal_users(portal: Any) -> dict[int, dict[str, Any]]:
    """Every user with its custom data by field name and its group ids, read through the API."""
    with client_for(portal) as client:
        definitions: dict[int, str] = {}
        users: dict[int, dict[str, Any]] = {}
        for page in client.paginate("/users", {"version_id": "1.2"}, record_keys=("user", "users")):
            body = page.body if isinstance(page.body, dict) else {}
            for d in body.get("customDataFieldDefinitions") or []:
                definitions[d["id"]] = d["label"]
            for record in page.records:
                # either documented shape, or both (customDataFieldValues, keyed by definition id, wins)
                custom = {label.lower(): _value(v) for label, v in (record.get("CustomData") or {}).items()}
                custom.update({definitions[v["definition_id"]]: _value(v["value"]) for v in record.get("customDataFieldValues", [])})
                users[record["id"]] = {**record, "custom": custom, "groups": set()}
        groups = {g["id"]: g["title"] for page in client.paginate("/groups", record_keys=("groups",)) for g in page.records}
        for group_id in groups:
            for page in client.paginate("/group_memberships", {"group_id": group_id, "version_id": "1.1"}, record_keys=("user",)):
                for member in page.records:
                    users[member["user_id"]]["groups"].add(groups[group_id])
    return users


def people(portal: Any) -> list[dict[str, Any]]:
    """Managed users (with an employee id) as roster rows, in step with LearnUpon (location left blank)."""
    rows = []
    for user in sorted(portal_users(portal).values(), key=lambda u: u["id"]):
        external_id = user["custom"].get(ID_FIELD)
        if not external_id:
            continue
        rows.append({
            "employee_id": external_id,
            "email": user["email"],
            "first_name": user["first_name"],
            "last_name": user["last_name"],
            "department": user["custom"].get("department") or "",
            "location": "",
            "job_title": user["custom"].get("position") or "",
            "manager_employee_id": "",
            "active": "true" if user["enabled"] else "false",
            "_user": user,
        })
    return rows


def write_roster(path: Path, rows: list[dict[str, Any]], columns: list[str] = COLUMNS) -> Path:
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return Path(path)


def by_external_id(portal: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user in portal_users(portal).values():
        if user["custom"].get(ID_FIELD):
            found[user["custom"][ID_FIELD]].append(user)
    return found


def new_hire(number: int, **values: str) -> dict[str, str]:
    row = {"employee_id": f"N{number:04d}", "email": f"new.hire.{number}@example.org", "first_name": "New",
           "last_name": f"Hire{number}", "department": "Sales", "location": "", "job_title": "Engineer",
           "manager_employee_id": "", "active": "true"}
    row.update(values)
    return row


def portal_env(portal: Any, password: str | None = None) -> dict[str, str]:
    return {"LEARNUPON_BASE_URL": portal.base_url, "LEARNUPON_USERNAME": portal.config.username,
            "LEARNUPON_PASSWORD": password or portal.config.password}


def run_command(monkeypatch: pytest.MonkeyPatch, capsys: Any, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """`lms-warehouse ARGS` in this process (the console script's own main): (exit code, stdout, stderr).

    The tests that need a separate process (a kill, the credentials check) start the installed command.
    """
    for name in [n for n in os.environ if n.startswith("LEARNUPON_")]:
        monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    try:
        code = cli_main(list(args))
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err
