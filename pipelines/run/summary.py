"""The short report printed after a run: what landed, where, and what it cost in API calls."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from ..learnupon.errors import describe_error
from ..learnupon.tables import SESSIONS
from .runner import RunSummary, Warehouse


def table_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows per raw table as a reader sees it now (dlt's own tables left out)."""
    return warehouse.backend.table_counts()


def print_summary(summary: RunSummary, warehouse: Warehouse, wall_seconds: float, header: str = "", out: TextIO | None = None) -> None:
    out = out or sys.stdout
    write = lambda line="": print(line, file=out)  # noqa: E731
    if header:
        write(header)
    write(f"Run {summary.run_id} {summary.status} in {wall_seconds:.1f}s; warehouse: {warehouse.location}")
    note = warehouse.backend.reader_note()  # Parquet: the folders readers read
    if note:
        write(note)
    counts = table_counts(warehouse)
    write()
    write(f"{'table':32} {'rows now':>12} {'loaded this run':>16}")
    for name, count in counts.items():
        write(f"{name:32} {count:>12,} {summary.rows.get(name, 0):>16,}")
    api = summary.api
    write()
    write(f"API calls: {api.get('calls', 0):,} (429s: {api.get('http_429', 0)}, retries: {api.get('retries', 0)})")
    for endpoint, stats in api.get("endpoints", {}).items():
        write(f"  {endpoint:44} {stats['calls']:>8,} calls {stats['records']:>10,} records")
    rate = summary.rate_limit
    if rate.get("remaining_week") is not None:
        write(
            f"Rate-limit headroom: {rate.get('remaining_minute')} calls left this minute"
            f" (lowest seen {rate.get('min_remaining_minute')}), {rate.get('remaining_week'):,} left this week"
        )
    if summary.timings:
        write("Time: " + ", ".join(f"{step} {secs:.1f}s" for step, secs in summary.timings.items()))
    gap = summary.extra.get("audit_gap")
    if gap:
        write(
            f"AUDIT EVENTS LOST: events from {gap['gap_start']:%Y-%m-%d %H:%M} to {gap['gap_end']:%Y-%m-%d %H:%M} UTC"
            " are past the API's 30-day window and can no longer be read (recorded in audit_gaps)."
            " Run audit_trails at least every few weeks."
        )
    for resource, done in (summary.extra.get("reconciliations") or {}).items():
        write(f"Reconciliation of {resource}: {done[SESSIONS]:,} sessions re-read since {done['since']}, {done['calls']:,} calls")
    reread = summary.extra.get("modules_reread") or {}
    if reread:
        write(
            f"Modules re-read: {reread.get('for_sessions', 0)} course(s) for new or changed sessions,"
            f" {reread.get('for_shared_modules', 0)} for modules shared with them, {reread.get('calls', 0)} calls"
        )
    retired = summary.extra.get("retired") or {}
    if retired:
        write("Retired (deleted upstream, kept as history): " + ", ".join(f"{t} {n:,}" for t, n in sorted(retired.items())))
    if summary.drift:
        tables = sorted({row["table_name"] for row in summary.drift})
        write(
            f"Contract drift: {len(summary.drift)} field(s) differ from the documented schema in"
            f" {', '.join(tables)}; see the contract_drift table (run_id {summary.run_id})"
        )
    if unconfigured_line(summary):
        write(unconfigured_line(summary))
    for resource, cause in summary.failed.items():
        write(f"FAILED: {resource} was not loaded: {cause}")
    if summary.data_issues:
        write(
            f"Data issues: {summary.data_issues} malformed values were set to NULL or records skipped;"
            f" see the data_issues table (run_id {summary.run_id})"
        )


def unconfigured_line(summary: RunSummary) -> str | None:
    """The line naming the sub-portals a realm lists that no configured portal is (resources/realm.py)."""
    unconfigured = summary.extra.get("unconfigured_portals") or []
    if not unconfigured:
        return None
    return (
        f"Sub-portals not configured (not loaded, no keys generated): {', '.join(unconfigured)};"
        f" see the data_issues table (run_id {summary.run_id})"
    )


def print_portals_summary(outcomes: Any, warehouse: Warehouse, wall_seconds: float, header: str = "", out: TextIO | None = None) -> None:
    """After a run of several portals (pipelines/run/portals.py): one line per portal (its status, API calls and
    429s, rows loaded, failures), then the warehouse's tables once."""
    out = out or sys.stdout
    write = lambda line="": print(line, file=out)  # noqa: E731
    if header:
        write(header)
    failed = sum(1 for o in outcomes if o.failed)
    write(
        f"{len(outcomes)} portals in {wall_seconds:.1f}s ({failed} failed); warehouse: {warehouse.location}"
    )
    for outcome in outcomes:
        summary = outcome.summary
        if summary is None:
            write(f"  portal {outcome.portal}: failed before its run was recorded ({describe_error(outcome.error)})")
            continue
        api = summary.api
        line = (
            f"  portal {outcome.portal}: run {summary.run_id} {summary.status} in {summary.seconds:.1f}s,"
            f" {api.get('calls', 0):,} API calls (429s: {api.get('http_429', 0)}, retries: {api.get('retries', 0)}),"
            f" {sum(summary.rows.values()):,} rows loaded"
        )
        if summary.failed:
            line += "; failed: " + ", ".join(summary.failed)
        elif summary.status == "failed" and summary.error:
            line += f"; {summary.error}"
        write(line)
        if unconfigured_line(summary):
            write(f"    {unconfigured_line(summary)}")
    note = warehouse.backend.reader_note()
    if note:
        write(note)
    write()
    write(f"{'table':32} {'rows now':>12} {'loaded this run':>16}")
    for name, count in table_counts(warehouse).items():
        loaded = sum((o.summary.rows.get(name, 0) for o in outcomes if o.summary is not None))
        write(f"{name:32} {count:>12,} {loaded:>16,}")
