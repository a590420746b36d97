"""The progress line's figures are the run's: each resource's `done` line shows the API calls it made and the
rows it wrote, the same figures `pipeline_runs` records, and they agree with dlt's own row counts and the
client's call count (a resource loaded in batches, exam answers, reports once, for all its batches)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

from pipelines.learnupon import ALL_RESOURCES
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.progress import Progress
from pipelines.run.runner import Warehouse, run_extract
from tests.conftest import query, settings_for

DONE = re.compile(r"(\w+): done, ([\d,]+) calls, ([\d,]+) rows$")


def test_each_done_line_equals_the_summary_for_its_resource(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory()
    settings = settings_for(portal)
    # answers in batches of 25 exam enrollments: several loads, one done line
    context = ExtractContext(client_factory=settings.client, options=ExtractOptions(workers=4, answer_batch=25))
    stream = io.StringIO()
    context.progress = Progress(stream=stream, client=lambda: context.started_client)
    try:
        summary = run_extract(context, Warehouse(out_dir=tmp_path))
    finally:
        context.close()
    assert summary.status == "succeeded"

    done: dict[str, tuple[int, int]] = {}
    for line in stream.getvalue().splitlines():
        match = DONE.search(line)
        if match:
            name, calls, rows = match.groups()
            assert name not in done, f"{name} reported done twice"
            done[name] = (int(calls.replace(",", "")), int(rows.replace(",", "")))
    assert set(done) == set(ALL_RESOURCES)

    (run,) = query(tmp_path, "select api_calls, details from learnupon.pipeline_runs")
    recorded = json.loads(run["details"])["resources"]
    assert {name: (r["calls"], r["rows"]) for name, r in recorded.items()} == done
    # rows: what dlt normalized into each resource's own table; calls: every call of the run, each counted once
    assert {name: rows for name, (_, rows) in done.items()} == {name: summary.rows.get(name, 0) for name in done}
    assert sum(calls for calls, _ in done.values()) == run["api_calls"] == summary.api["calls"]

    answers_calls, answers_rows = done["exam_answers"]
    endpoint = summary.api["endpoints"]["GET /exams/{id}/answers/{id}"]
    assert answers_calls == endpoint["calls"] > 25  # more than one batch
    assert answers_rows == query(tmp_path, "select count(*) as n from learnupon.exam_answers")[0]["n"]


def test_a_failed_resource_still_accounts_for_its_calls(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(endpoint_faults={"GET /badges": "500"})
    settings = settings_for(portal)
    context = ExtractContext(client_factory=settings.client, options=ExtractOptions(workers=4))
    stream = io.StringIO()
    context.progress = Progress(stream=stream, client=lambda: context.started_client)
    try:
        summary = run_extract(context, Warehouse(out_dir=tmp_path), ["users", "courses", "badges"])
    finally:
        context.close()
    assert summary.status == "partial" and set(summary.failed) == {"badges"}
    assert "badges: FAILED" in stream.getvalue() and "badges: done" not in stream.getvalue()
    (run,) = query(tmp_path, "select api_calls, details from learnupon.pipeline_runs")
    recorded = json.loads(run["details"])["resources"]
    assert recorded["badges"] == {"calls": summary.api["endpoints"]["GET /badges"]["calls"], "rows": 0}
    assert recorded["badges"]["calls"] > 1  # the retries count
    assert sum(r["calls"] for r in recorded.values()) == run["api_calls"]
