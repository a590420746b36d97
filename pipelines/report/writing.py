"""The HTML compliance report: one self-contained file (inline CSS, no script, no external URL).

write_report builds the models for the as-of date (unless told not to), reads the marts and
renders templates/report.html.j2 (Jinja2): a contents list, a stamp with the
last successful load (and a warning when a resource is older than its schedule allows),
headline figures, the compliance rate over time, charts by group, overdue age, certificate
expiry, exam questions and session attendance, and the overdue list. Each group and each
manager has a page of its own (person.html.j2) in a folder beside the main file
(`<name>_files/`), linked from the contents, and the overdue list is split into pages of
PAGE_ROWS rows there: a portal with thousands of people no longer makes one page of
megabytes. Every table shown has a CSV download embedded as a data: link, so each page
stays one offline file. Colours carry meaning: a compliance rate is green only at or above
LMS_REPORT_GOOD_RATE (default 0.9), amber at or above LMS_REPORT_WARN_RATE (default 0.7),
red below. A mart that could not be built shows as a note, not an error.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from ..models import build_models
from ..models.export import reporting_connection
from .reading import collect, read_relations
from .rendering import rate_thresholds, render, render_pages


def write_report(
    warehouse: Any, path: Path, as_of: date | None = None, *, build: bool = True, marts_schema: str = "reporting",
    now: datetime | None = None, portal: str | None = None,
) -> Path:
    """Write the compliance report to path and return it.

    build: build the models for as_of first (default); False reads the marts as they are.
    marts_schema: the schema of the marts read (reporting_pseudonymised: the report without names).
    now: the moment the loads' freshness is judged at (default: the clock; a test states its own).
    portal: the report of that portal alone; default every portal of the warehouse, the realm's totals first
    and each portal's figures beside them (one portal: as a single-portal warehouse's report).
    """
    as_of = as_of or datetime.now(timezone.utc).date()
    thresholds = rate_thresholds()
    if build:
        build_models(warehouse, as_of=as_of)
    with reporting_connection(warehouse, read_relations(warehouse, marts_schema)) as con:
        data = collect(con, as_of, raw_schema=warehouse.dataset, marts_schema=marts_schema, now=now, portal=portal)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = pages_folder(path)
    pages = render_pages(data, path.name, thresholds)
    # the pages first, swapped in whole, then the main file: a reader never sees half a report
    staging = path.with_name(f".{folder.name}.tmp")
    retired = path.with_name(f".{folder.name}.old")
    for leftover in (staging, retired):
        shutil.rmtree(leftover, ignore_errors=True)
    staging.mkdir()
    for name, text in pages.items():
        (staging / name).write_text(text, encoding="utf-8")
    if folder.exists():
        folder.replace(retired)
    staging.replace(folder)
    shutil.rmtree(retired, ignore_errors=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(data, thresholds, folder.name), encoding="utf-8")
    tmp.replace(path)
    return path


def pages_folder(path: Path) -> Path:
    """The folder of a report's group, manager and list pages: beside it, named after it."""
    return path.with_name(f"{path.stem}_files")
