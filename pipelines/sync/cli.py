"""`lms-warehouse sync plan|apply`: arguments, and what is printed.

  lms-warehouse sync plan  --roster FILE [--mapping TOML]    a dry run: counts per action with examples,
                                                             the plan in sync.sync_plan and a CSV
  lms-warehouse sync apply --roster FILE [--force]           the plan carried out, every action in sync.sync_actions

A roster is for one portal: --portal NAME (a configured portal, pipelines/config.py); without it the
only configured portal (several configured: one line asking for the name, exit 2).

Exit codes: 0 done; 1 refused by the safety cap, stopped at the weekly reserve, or some actions
failed; 2 bad settings, mapping or roster (one line).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..learnupon.errors import ConfigError
from ..learnupon.settings_spec import default
from .mapping import POLICIES

if TYPE_CHECKING:
    from .run import Outcome

EXAMPLES = 3
EXIT_OK, EXIT_FAILED = 0, 1


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive whole number")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    modes = parser.add_subparsers(dest="sync_mode", required=True, parser_class=type(parser))
    for mode, text in (("plan", "a dry run: what the sync would do"), ("apply", "carry the plan out on LearnUpon")):
        p = modes.add_parser(mode, help=text)
        source = p.add_mutually_exclusive_group(required=True)
        source.add_argument("--roster", type=Path, help="the HR roster, CSV or Parquet")
        source.add_argument("--roster-sql", metavar="QUERY", help="the roster as a query over the warehouse")
        p.add_argument("--mapping", type=Path, default=None, help="TOML mapping (default: docs/user-sync.md)")
        p.add_argument("--out", type=Path, default=Path("data"), help="warehouse folder (default: data)")
        p.add_argument("--portal", metavar="NAME", default=None,
                       help="the configured portal the roster is for (default: the only one configured, or in the warehouse)")
        p.add_argument("--plan-csv", type=Path, default=None, help="where the plan's CSV goes (default: <out>/sync_plan.csv)")
        p.add_argument("--no-extract", action="store_true",
                       help="plan against the users already in the warehouse instead of loading them first")
        p.add_argument("--workers", type=_positive, default=None, help=f"parallel API calls while loading users (default {default('workers')}; $LEARNUPON_WORKERS)")
        for name, allowed in POLICIES.items():
            if name != "custom_data_keys":
                p.add_argument(f"--{name.replace('_', '-')}", choices=allowed, default=None, help=f"override the mapping's {name}")
        if mode == "apply":
            p.add_argument("--force", action="store_true", help="apply even if more users would be disabled or deleted than the cap allows")


def main(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..config import configured_portals
    from ..run.portals import pipeline_name
    from ..run.runner import Warehouse
    from .mapping import load_mapping
    from .roster import read_roster
    from .run import run_sync

    out = out or sys.stdout
    mapping = load_mapping(args.mapping).with_overrides(**{name: getattr(args, name, None) for name in POLICIES})
    warehouse = Warehouse(destination="duckdb", out_dir=args.out)
    roster = read_roster(args.roster, args.roster_sql, warehouse.duckdb_path)
    needs_portal = not args.no_extract or args.sync_mode == "apply"
    portal = None
    if needs_portal:
        explicit = {"workers": args.workers} if args.workers is not None else {}
        portals = configured_portals(explicit, names=[args.portal] if args.portal else None)
        if len(portals) > 1:
            raise ConfigError(
                f"sync: {len(portals)} portals are configured ({', '.join(p.name for p in portals)}):"
                " name the roster's with --portal NAME"
            )
        (portal,) = portals
    client = portal.client() if portal is not None else None
    try:
        outcome = run_sync(
            args.sync_mode, warehouse, roster, mapping, client,
            workers=portal.settings.workers if portal else default("workers"), force=getattr(args, "force", False),
            extract=not args.no_extract, csv_path=args.plan_csv,
            portal=portal.name if portal else args.portal,
            pipeline_name=pipeline_name(portal.name, portal.single) if portal else None,
        )
    finally:
        if client is not None:
            client.close()
    print_outcome(outcome, roster.source, warehouse.duckdb_path, out)
    if outcome.status in ("planned", "succeeded"):
        return EXIT_OK
    return EXIT_FAILED


def print_outcome(outcome: Outcome, source: str, database: Path, out: TextIO) -> None:
    from .plan import describe

    plan = outcome.plan
    title = "Sync plan (dry run)" if outcome.mode == "plan" else "Sync apply"
    resumed = ", resuming an interrupted apply" if outcome.resumed else ""
    print(f"{title} for {source}: {plan.roster_rows} roster rows; run {outcome.run_id}{resumed}", file=out)
    print(f"LearnUpon: {plan.users} users, {plan.managed_users} with an external id"
          f" ({plan.users - plan.managed_users} without one are never touched)", file=out)
    for note in outcome.notes:
        print(f"  note: {note}", file=out)
    if not plan.writes:
        print("Nothing to write: LearnUpon is in step with the roster's valid rows.", file=out)
    # writes in the order they run, then what is only reported
    order = sorted(plan.counts, key=lambda a: min((not r["is_write"], r["step"]) for r in plan.rows if r["action"] == a))
    for action in order:
        rows = [r for r in plan.rows if r["action"] == action]
        kind = "" if rows[0]["is_write"] else "  (reported, not applied)"
        print(f"  {action:<22} {len(rows):>6}{kind}", file=out)
        for row in rows[:EXAMPLES]:
            print(f"      e.g. {describe(row)}", file=out)
    print(f"Leavers: {plan.leavers} of {plan.users} users ({plan.leaver_share:.1%})", file=out)
    print(f"Plan: sync.sync_plan in {database}" + (f"; CSV {outcome.csv_path}" if outcome.csv_path else ""), file=out)
    if outcome.refused:
        print(f"Refused: {outcome.refused}", file=out)
    if outcome.applied is not None:
        applied = outcome.applied
        summary = ", ".join(f"{applied.count(s)} {s}" for s in ("succeeded", "failed", "skipped", "planned") if applied.count(s))
        print(f"Applied: {summary or 'nothing to do'} (sync.sync_actions, run {outcome.run_id})", file=out)
        if applied.stopped:
            print(f"Stopped: {applied.stopped}; the next apply resumes it", file=out)
    if outcome.api:
        left = f"; {outcome.remaining_week:,} calls left this week" if outcome.remaining_week is not None else ""
        print(f"API calls: {outcome.api.get('calls', 0)}{left}", file=out)
