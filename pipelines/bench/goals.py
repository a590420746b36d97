"""The benchmark's goals: each declared once, with where its figure comes from; printed beside the figure
measured now and the previous figure recorded in docs/benchmarks.md.

A goal is one `Goal(...)` in GOALS: its key (the row's name in docs/benchmarks.md's "Goals" table and in
`--json`), the goal as the issue states it, the scenario that measures it, how to read the figure from the
benchmark's result and when the figure meets the goal. A scenario that adds a goal's figure adds that
figure to its part of the result and, if the goal is new, one declaration here; the table follows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"
GOALS_HEADING = "## Goals"
MEASURED_OUTSIDE = "outside the bench"


@dataclass(frozen=True)
class Goal:
    key: str
    text: str  # the goal, as the issue states it
    scenario: str  # the scenario whose result holds the figure (MEASURED_OUTSIDE: none does)
    figure: Callable[[dict[str, Any]], float | None]  # from that scenario's part of the result; None: not measured
    met: Callable[[float], bool]
    unit: str = ""  # printed after the figure: "x", " s", " MiB"

    def measure(self, result: dict[str, Any]) -> float | None:
        part = result.get(self.scenario)
        if not part:
            return None
        try:
            return self.figure(part)
        except (KeyError, TypeError, ValueError):  # the scenario ran without this figure (a part of it skipped)
            return None


def _largest_destination_peak(d: dict[str, Any]) -> float:
    runs = [*d["runs"].values(), *d.get("incremental", {}).values()]
    return max(run["peak_rss_mib"] for run in runs)


GOALS: tuple[Goal, ...] = (
    # issue 23
    Goal("cpu_per_page", "a full run within 1.3x of the plain sequential download and parse (ours / floor)",
         "throughput", lambda t: t["ratio_to_floor"], lambda x: x <= 1.3, "x"),
    Goal("latency", "at 100 ms per call, within 1.2x of calls x latency / calls in flight",
         "latency", lambda lt: lt["ratio_to_ideal"], lambda x: x <= 1.2, "x"),
    Goal("fixed_cost", "an incremental run of an unchanged portal: our own time (wall minus waiting on calls) <= 2 s",
         "fixed", lambda f: f["own_seconds"], lambda x: x <= 2.0, " s"),
    Goal("snapshot_refresh", "the snapshot refresh in proportion to what changed: that run's refresh / a whole copy <= 0.5",
         "fixed", lambda f: round(f["snapshot_seconds"] / f["snapshot_whole_seconds"], 2), lambda x: x <= 0.5, "x"),
    Goal("memory_destinations", "every destination's first and incremental load at 1M enrollments < 1 GiB peak",
         "destinations", _largest_destination_peak, lambda x: x < 1024, " MiB"),
    Goal("suite_minutes", "the default suite under 8 minutes on a quiet 2-core machine",
         MEASURED_OUTSIDE, lambda _: None, lambda x: x < 8, " min"),
    # earlier goals, still held
    Goal("throughput_3x_peer", "ours at least 3x faster than dlt's rest_api (peer / ours)",
         "throughput", lambda t: t["speedup_over_peer"], lambda x: x >= 3, "x"),
    Goal("models_sql_within_1_5x", "SQL time of the models step <= 1.5 x 1.5 s (the step before dbt)",
         "throughput", lambda t: t["models"]["sql_seconds"], lambda x: x <= 1.5 * 1.5, " s"),
    Goal("ratelimit_90pct", "calls per minute >= 90% of a binding limit (share of the limit)",
         "ratelimit", lambda r: r["share_of_limit"], lambda x: x >= 0.9),
    Goal("ratelimit_no_late_429", "no 429 after the first minute",
         "ratelimit", lambda r: r["http_429_after_first_minute"], lambda x: x == 0),
    Goal("frugality_incremental_1_2x", "incremental calls <= 1.2 x the minimum",
         "frugality", lambda f: f["incremental"]["total"]["ratio"], lambda x: x <= 1.2, "x"),
    Goal("memory_flat", "peak memory flat over portal sizes (largest / smallest <= 1.5)",
         "memory", lambda m: m["growth"], lambda x: x <= 1.5, "x"),
    Goal("memory_under_1gib", "memory scenario: largest peak < 1 GiB",
         "memory", lambda m: m["largest_mib"], lambda x: x < 1024, " MiB"),
    Goal("parquet_memory_under_1gib", "Parquet destination: peak of the run, publication included, < 1 GiB",
         "parquet", lambda p: p["peak_rss_mib"], lambda x: x < 1024, " MiB"),
)


def previous_figures(docs: Path = DOCS) -> dict[str, str]:
    """The figures recorded in docs/benchmarks.md's "Goals" table: key -> the figure cell as written."""
    try:
        text = docs.read_text(encoding="utf-8")
    except OSError:
        return {}
    start = text.find(f"\n{GOALS_HEADING}\n")
    if start < 0:
        return {}
    section = text[start + len(GOALS_HEADING) + 2:]
    section = section[: section.find("\n## ")] if "\n## " in section else section
    figures = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0]) if len(cells) >= 3 else None
        if match:
            figures[match.group(1)] = cells[2]  # | `key` | goal | figure | met |
    return figures


def evaluate(result: dict[str, Any], previous: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every goal with its figure now (None: not measured by this run), the previous figure and met (None: unknown)."""
    previous = previous_figures() if previous is None else previous
    rows = []
    for goal in GOALS:
        figure = goal.measure(result)
        rows.append({
            "goal": goal.key,
            "text": goal.text,
            "figure": figure,
            "shown": _shown(goal, figure, result),
            "previous": previous.get(goal.key, "-"),
            "met": None if figure is None else bool(goal.met(figure)),
        })
    return rows


def _shown(goal: Goal, figure: float | None, result: dict[str, Any]) -> str:
    if figure is not None:
        return f"{figure:,.2f}".rstrip("0").rstrip(".") + goal.unit
    if goal.scenario == MEASURED_OUTSIDE:
        return MEASURED_OUTSIDE
    return "not run" if goal.scenario not in result else "not measured"


def format_goals(rows: list[dict[str, Any]]) -> list[str]:
    """The table: goal, figure, previous, met/missed; then the goals this run missed."""
    width = max(len(row["goal"]) for row in rows)
    lines = [f"  {'goal':<{width}}  {'figure':>16}  {'previous':>16}  met/missed",
             f"  {'':-<{width}}  {'':->16}  {'':->16}  ----------"]
    for row in rows:
        verdict = {True: "met", False: "MISSED", None: "-"}[row["met"]]
        lines.append(f"  {row['goal']:<{width}}  {row['shown']:>16}  {row['previous']:>16}  {verdict}   {row['text']}")
    missed = [row["goal"] for row in rows if row["met"] is False]
    lines.append(f"  missed: {', '.join(missed)}" if missed else "  missed: none of the goals measured")
    return lines
