"""The `lms-warehouse` command.

  lms-warehouse demo      the whole pipeline against the simulated portal, then a summary
  lms-warehouse run       the pipeline against a real portal (settings: see pipelines/config.py)
  lms-warehouse simulate  the simulated portal on its own, until interrupted
  lms-warehouse models    build the SQL models (staging views, reporting marts) for an as-of date
  lms-warehouse report    build the models and write the HTML compliance report
  lms-warehouse bench     the performance benchmark on simulated portals (docs/benchmarks.md)
  lms-warehouse sync      plan or apply a roster-to-LearnUpon user sync (docs/user-sync.md)
  lms-warehouse erase     erase a person's personal data from every copy the warehouse keeps (docs/personal-data.md)

Bad settings print one line and exit 2; a failed run prints its cause and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .learnupon.errors import ConfigError, LearnUponError
from .process_exit import exit_now

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_BUSY = 75  # EX_TEMPFAIL: another process holds the warehouse; try again later


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2 like every other config error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_CONFIG, f"lms-warehouse: error: {message}\n")


def _positive(kind: type = int, allow_zero: bool = False):
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'zero or more' if allow_zero else 'positive'}")
        return value

    return parse


def _resource_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:  # an empty or blank value is a mistake (an unset shell variable), not "everything"
        raise argparse.ArgumentTypeError("names no resource; leave --resources out to run every resource")
    return names


def _portal_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError("names no portal; leave --portals out to run every configured portal")
    return names


def _setting_args(p: argparse.ArgumentParser, demo: bool = False) -> None:
    """A flag per setting of the spec (pipelines/learnupon/settings_spec.py) but the secrets; `demo` leaves out the
    portal's address and keys. Unset flags stay None, so the environment and dlt's files still apply."""
    from .learnupon.settings_spec import SETTINGS

    for setting in SETTINGS:
        if setting.flag is None or (demo and not setting.on_demo):
            continue
        if setting.kind is bool:
            p.add_argument(setting.flag, dest=setting.name, action=argparse.BooleanOptionalAction, default=None, help=setting.described())
        else:
            p.add_argument(
                setting.flag, dest=setting.name, type=_setting_parser(setting), default=None, metavar=setting.metavar, help=setting.described()
            )


def _setting_parser(setting: Any) -> Any:
    from .learnupon.settings_spec import parse

    def from_text(text: str) -> Any:
        try:
            return parse(setting, text, "")
        except ConfigError as exc:  # argparse names the flag: "argument --workers: must be ..."
            raise argparse.ArgumentTypeError(str(exc).strip()) from None

    return from_text


def explicit_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags (None: not given)."""
    from .learnupon.settings_spec import SETTINGS

    return {s.name: getattr(args, s.name) for s in SETTINGS if getattr(args, s.name, None) is not None}


def _destination_args(p: argparse.ArgumentParser) -> None:
    from .destinations import DESTINATIONS

    p.add_argument(
        "--destination", choices=DESTINATIONS, default="duckdb",
        help=f"warehouse: {', '.join(DESTINATIONS)} (default: duckdb; postgres reads DESTINATION__POSTGRES__CREDENTIALS)",
    )
    p.add_argument(
        "--delta-url", default=None,
        help="Delta: the bucket URL (s3://, gs://, az://, a folder; default: dlt's DESTINATION__FILESYSTEM__BUCKET_URL, else <out>/delta)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lms-warehouse", description="Keep a warehouse copy of a LearnUpon portal.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def warehouse_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
        _destination_args(p)
        p.add_argument("--resources", type=_resource_list, default=None, help="comma-separated subset, e.g. enrollments,users")

    demo = sub.add_parser("demo", help="run everything against the simulated portal")
    warehouse_args(demo)
    _setting_args(demo, demo=True)
    demo.add_argument("--users", type=_positive(), default=1000, help="users on the simulated portal (default 1000)")
    demo.add_argument("--seed", type=int, default=7, help="seed of the generated data (default 7)")
    demo.add_argument("--page-size", type=_positive(), default=500, help="records per page the portal serves (default 500)")

    run = sub.add_parser("run", help="run against a real portal (every setting: README, 'Settings')")
    warehouse_args(run)
    run.add_argument(
        "--portals", dest="portal_names", type=_portal_list, default=None,
        help="comma-separated configured portals to run, e.g. acme,acme-eu (default: every configured portal)",
    )
    _setting_args(run)

    sim = sub.add_parser("simulate", help="serve the simulated portal until interrupted")
    sim.add_argument("--port", type=_positive(allow_zero=True), default=8008, help="port on 127.0.0.1 (default 8008; 0: any free port)")
    sim.add_argument("--users", type=_positive(), default=1000, help="users on the portal (default 1000)")
    sim.add_argument("--seed", type=int, default=7, help="seed of the generated data (default 7)")
    sim.add_argument("--page-size", type=_positive(), default=500, help="records per page (default 500)")
    sim.add_argument("--rate-per-minute", type=_positive(), default=None, help="API calls allowed per minute (default: unlimited)")
    sim.add_argument("--rate-per-week", type=_positive(), default=None, help="API calls allowed per rolling week (default: unlimited)")
    sim.add_argument("--fault-rate", type=_positive(float, allow_zero=True), default=0.0, help="share of calls that fail (5xx, truncated, dropped); default 0")
    sim.add_argument("--latency-ms", type=_positive(int, allow_zero=True), default=0, help="added latency per call in ms (default 0)")

    for name, text in (("models", "build the SQL models into the warehouse"), ("report", "write the HTML compliance report")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
        _destination_args(p)
        p.add_argument("--as-of", type=_as_of_date, default=None, help="report date YYYY-MM-DD (default: today, UTC)")
    sub.choices["models"].add_argument(
        "--pseudonymised", action="store_true",
        help="also build the pseudonymised reporting schema, reporting_pseudonymised (needs LMS_PSEUDONYM_KEY;"
        " LMS_PSEUDONYMISED_REPORTING=true does it on every build): docs/personal-data.md",
    )
    sub.choices["report"].add_argument(
        "--pseudonymised", action="store_true",
        help="render the report from the pseudonymised schema (built first; needs LMS_PSEUDONYM_KEY):"
        " default output <out>/compliance_report_pseudonymised.html",
    )
    sub.choices["report"].add_argument(
        "--portal", metavar="NAME", default=None,
        help="the report of that portal alone (default: every portal in the warehouse, the realm's totals and each"
        " portal's figures): default output <out>/compliance_report_NAME.html",
    )
    sub.choices["report"].add_argument(
        "--output", type=Path, default=None,
        help="default: <out>/compliance_report.html (<out>/compliance_report_pseudonymised.html with --pseudonymised)",
    )
    sub.choices["models"].add_argument(
        "--docs", action="store_true", help="also generate dbt's documentation site (<out>/.dbt/target/static_index.html)"
    )
    erase = sub.add_parser(
        "erase", help="erase a person's personal data from the warehouse, its history and every copy (docs/personal-data.md)"
    )
    erase.add_argument("--out", type=Path, default=Path("data"), help="output folder (default: data)")
    _destination_args(erase)
    erase.add_argument("--user-id", type=_positive(), action="append", default=[], metavar="ID",
                       help="the person's LearnUpon user id (repeat for several)")
    erase.add_argument("--email", action="append", default=[], metavar="ADDRESS",
                       help="the person's email, resolved to their user id(s) through the users table and its history (repeat for several)")
    erase.add_argument("--portal", metavar="NAME", default=None,
                       help="the portal the person is a user of (ids repeat across portals); needed when the warehouse holds several")
    bench = sub.add_parser("bench", help="run the performance benchmark (docs/benchmarks.md)")
    from .bench import add_arguments as bench_arguments

    bench_arguments(bench)
    from .sync.cli import add_arguments as sync_arguments

    sync_arguments(sub.add_parser("sync", help="keep LearnUpon users in step with an HR roster (docs/user-sync.md)"))
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lms-warehouse")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _as_of_date(text: str) -> Any:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.verbose:
        os.environ["RUNTIME__LOG_LEVEL"] = "INFO"  # dlt reads it when a pipeline starts
    from .run.signals import last_signal, signal_of, stop_on_signals

    try:
        if args.command == "bench":
            from .bench import main as bench_main

            return bench_main(args)
        if args.command == "simulate":
            return _simulate(args)
        from .learnupon.client import NO_NEW_CALLS

        NO_NEW_CALLS.clear()
        with stop_on_signals(announce=args.command == "run", on_signal=NO_NEW_CALLS.set):  # a run's progress is on stderr
            if args.command == "sync":
                from .sync.cli import main as sync_main

                status = sync_main(args)
            elif args.command == "demo":
                status = _demo(args)
            elif args.command in ("models", "report"):
                status = _models(args)
            elif args.command == "erase":
                status = _erase(args)
            else:
                status = _run(args)
        signum = last_signal()
        return status if signum is None else _stopped(signum)  # a library (dbt) that caught the signal and went on
    except ConfigError as exc:
        print(f"lms-warehouse: error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except Exception as exc:
        signum = signal_of(exc) or last_signal()
        if signum is not None:  # dlt wraps a signal it received in its step's failure; dbt makes it a failed model
            return _stopped(signum)
        return _failed(exc, getattr(args, "out", None))
    except BaseException as exc:
        signum = signal_of(exc)
        if signum is None:
            raise
        return _stopped(signum)


def _stopped(signum: int) -> int:
    from .run.signals import exit_code

    print(
        f"lms-warehouse: stopped by {signal.Signals(signum).name}; every load already committed is kept,"
        " the next run resumes from there.",
        file=sys.stderr,
    )
    return exit_code(signum)


def _failed(exc: Exception, out_dir: Path | None) -> int:
    """One line naming the cause; exit 2 for a configuration problem, 75 for a busy warehouse, else 1."""
    from .run.failures import diagnose, recoverable
    from .run.lock import WarehouseBusy
    from .run.runner import innermost

    cause = diagnose(exc, out_dir or Path("data")) or innermost(exc)
    if isinstance(cause, ConfigError):
        print(f"lms-warehouse: error: {cause}", file=sys.stderr)
        return EXIT_CONFIG
    if isinstance(cause, WarehouseBusy):
        print(f"lms-warehouse: busy: {cause}", file=sys.stderr)
        return EXIT_BUSY
    label = "" if isinstance(cause, LearnUponError) else f"{type(cause).__name__}: "
    print(f"lms-warehouse: run failed: {label}{cause}", file=sys.stderr)
    if "Out of Memory Error" in str(cause):  # DuckDB's advice names SQL settings our users do not set
        from .run.runner import MEMORY_LIMIT_ENV, MODELS_MEMORY_LIMIT_ENV

        print(
            f"DuckDB reached its memory limit: raise {MEMORY_LIMIT_ENV} (loads) or"
            f" {MODELS_MEMORY_LIMIT_ENV} (the SQL models, the Parquet publication), e.g. to 1GB or 4GB.",
            file=sys.stderr,
        )
    if recoverable(cause):
        print("Nothing already loaded was lost; the next run picks up from the last successful load.", file=sys.stderr)
    return EXIT_FAILED


def _run(args: argparse.Namespace, portal: Any = None, header: str = "") -> int:
    """`portal`: the demo's simulated portal settings (its address and keys); otherwise the configured portals
    (pipelines/config.py), those `--portals` names or every one."""
    from .config import Portal, choose_portals, configured_portals, extract_options, realm_members, resolve, run_settings
    from .learnupon.client import portal_name_for
    from .learnupon.context import ExtractContext
    from .run.portals import pipeline_name
    from .run.progress import Progress
    from .run.runner import Warehouse, run_extract
    from .run.summary import print_summary

    warehouse = Warehouse(destination=args.destination, out_dir=args.out, delta_url=args.delta_url)
    explicit = explicit_settings(args)
    if portal is None:
        every = configured_portals(explicit)
        portals = choose_portals(every, getattr(args, "portal_names", None))
        options = extract_options(resolve(explicit))
    else:
        settings, options = run_settings(explicit, portal=portal)
        every = portals = [Portal(portal_name_for(None, settings.base_url), settings, single=True)]
    # a realm's listing (`portals`) is compared with every configured portal, whichever this run loads
    members = realm_members(every)
    if len(portals) > 1:
        return _run_portals(args, portals, options, warehouse, header, members)
    (one,) = portals
    context = ExtractContext(client_factory=one.client, portal=one.name, options=one.options(options),
                             configured_subdomains=members)
    progress = Progress(client=lambda: context.started_client)
    context.progress = progress
    started = time.perf_counter()
    try:
        with progress:
            summary = run_extract(context, warehouse, args.resources, pipeline_name(one.name, one.single))
    finally:
        context.close()
    print_summary(summary, warehouse, time.perf_counter() - started, header=header)
    return report_failed_resources(summary)


def _run_portals(
    args: argparse.Namespace, portals: Sequence[Any], options: Any, warehouse: Any, header: str, members: tuple[str, ...]
) -> int:
    """Several portals side by side (pipelines/run/portals.py): a summary line per portal; exit 2 when a portal's
    keys or settings were refused, 1 when any portal or resource failed (the others loaded), else 0."""
    from .learnupon.context import ExtractContext
    from .learnupon.errors import describe_error
    from .run.portals import pipeline_name, run_portals
    from .run.progress import Progress
    from .run.summary import print_portals_summary

    contexts = [
        (ExtractContext(client_factory=p.client, portal=p.name, options=p.options(options), configured_subdomains=members),
         pipeline_name(p.name, p.single))
        for p in portals
    ]
    for context, _ in contexts:
        context.progress = Progress(client=lambda c=context: c.started_client, label=context.portal)
    started = time.perf_counter()
    outcomes = run_portals(contexts, warehouse, args.resources)
    print_portals_summary(outcomes, warehouse, time.perf_counter() - started, header=header)
    status = EXIT_OK
    for outcome in outcomes:
        if outcome.error is not None:
            print(f"lms-warehouse: portal {outcome.portal} failed and was not loaded: {describe_error(outcome.error)}", file=sys.stderr)
            status = max(status, EXIT_CONFIG if isinstance(outcome.error, ConfigError) else EXIT_FAILED)
        elif outcome.summary is not None and outcome.summary.failed:
            failed_resources_lines(outcome.summary, f"portal {outcome.portal}: ")
            status = max(status, EXIT_FAILED)
    if status != EXIT_OK:
        print("lms-warehouse: the other portals loaded; the next run retries the failed ones.", file=sys.stderr)
    return status


def report_failed_resources(summary: Any) -> int:
    """One line per resource that failed (the others loaded); exit 1 if any did."""
    if failed_resources_lines(summary):
        print("lms-warehouse: the other resources loaded; the next run retries the failed ones.", file=sys.stderr)
    return EXIT_FAILED if summary.failed else EXIT_OK


def failed_resources_lines(summary: Any, prefix: str = "") -> bool:
    """A line per failed resource, and one for every resource the mass-retirement guard stopped (why, and how
    to confirm: the next run would stop the same way); whether any failed for another reason."""
    from .run.mass_retirement import stopped_line

    stopped = summary.stopped_by_guard
    for resource, cause in summary.failed.items():
        if resource not in stopped:
            print(f"lms-warehouse: {prefix}resource {resource} failed and was not loaded: {cause}", file=sys.stderr)
    if stopped:
        print(f"lms-warehouse: {prefix}{stopped_line(stopped)}", file=sys.stderr)
    return bool(set(summary.failed) - set(stopped))


def _demo(args: argparse.Namespace) -> int:
    from .config import PortalSettings
    from .simulator import PortalConfig, SimulatedPortal

    config = PortalConfig(users=args.users, seed=args.seed, page_size=args.page_size)
    # which warehouse the demo changes, first: `data` is also `run`'s default --out
    print(f"Starting the simulated portal ({args.users:,} users, seed {args.seed}) on 127.0.0.1; the demo loads it into"
          f" {args.out}/ (--out) ...", file=sys.stderr)
    with SimulatedPortal(config) as portal:
        keys = PortalSettings(base_url=portal.base_url, username=config.username, password=config.password)
        status = _run(args, portal=keys, header=f"Demo against the simulated portal at {portal.base_url}")
    print()
    # then what analysts and managers read: the SQL models and the HTML report
    args.command, args.as_of, args.output = "report", None, None
    return status or _models(args)


def _simulate(args: argparse.Namespace) -> int:
    from .simulator import PortalConfig, SimulatedPortal

    config = PortalConfig(
        users=args.users,
        seed=args.seed,
        page_size=args.page_size,
        rate_per_minute=args.rate_per_minute,
        rate_per_week=args.rate_per_week,
        fault_rate=args.fault_rate,
        latency_ms=args.latency_ms,
        port=args.port,
    )
    portal = SimulatedPortal(config)
    portal.start()
    print(f"Simulated LearnUpon portal at {portal.base_url} ({args.users:,} users, seed {args.seed})")
    print(f"Its API keys (simulated, not secret): LEARNUPON_USERNAME={config.username} LEARNUPON_PASSWORD={config.password}")
    print(f"Point the pipeline at it with LEARNUPON_BASE_URL={portal.base_url}")
    print("Press Ctrl+C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        portal.stop()
    return EXIT_OK


def _models(args: argparse.Namespace) -> int:
    from .models import build_models
    from .privacy.reporting import MARTS_SCHEMA, PseudonymisedBuild
    from .privacy.settings import pseudonymised_reporting
    from .report import pages_folder, portal_slug, write_report
    from .run.lock import run_lock
    from .run.runner import Warehouse

    if not args.verbose:
        logging.getLogger("lms_warehouse.models").setLevel(logging.ERROR)  # skips are printed below
    warehouse = Warehouse(destination=args.destination, out_dir=args.out, delta_url=args.delta_url)
    pseudonymised_report = args.command == "report" and getattr(args, "pseudonymised", False)
    pseudonymised = pseudonymised_report or getattr(args, "pseudonymised", False) or pseudonymised_reporting()
    if pseudonymised:
        PseudonymisedBuild.prepare(warehouse)  # a missing key: one line, before anything is built
    builds = []
    with run_lock(warehouse.out_dir):  # the model build writes the warehouse too
        warehouse.backend.check_writable("nothing was built")  # a program holding the file: exit 75 before dbt starts
        if not pseudonymised_report:
            builds.append(build_models(warehouse, as_of=args.as_of))
        if pseudonymised:
            builds.append(build_models(warehouse, as_of=args.as_of, pseudonymised=True))
        warehouse.backend.publish_models()  # DuckDB: the readers' snapshot
    for built in builds:
        _print_build(built)
    if any(built.failed_tests for built in builds):
        return EXIT_FAILED
    built = builds[0]
    if args.command == "models":
        if args.docs:
            from .models import generate_docs

            print(f"dbt docs: {generate_docs(warehouse)}")
        return EXIT_OK
    portal = getattr(args, "portal", None)
    stem = "compliance_report" + ("_pseudonymised" if pseudonymised_report else "") + (f"_{portal_slug(portal)}" if portal else "")
    output = args.output or args.out / f"{stem}.html"
    marts_schema = MARTS_SCHEMA if pseudonymised_report else "reporting"
    path = write_report(warehouse, output, as_of=built.as_of, build=False, marts_schema=marts_schema, portal=portal)
    print(f"Compliance report as of {built.as_of}: {path} (its group, manager and list pages: {pages_folder(path)}/)")
    return EXIT_OK


def _erase(args: argparse.Namespace) -> int:
    from .privacy.erasure import erase
    from .run.runner import Warehouse

    emails = [e for e in args.email if e.strip()]
    if not args.user_id and not emails:
        raise ConfigError("erase needs --user-id ID or --email ADDRESS")
    warehouse = Warehouse(destination=args.destination, out_dir=args.out, delta_url=args.delta_url)
    done = erase(warehouse, args.portal, user_ids=args.user_id, emails=emails)
    ((portal, ids),) = done.user_ids.items()
    who = ", ".join(map(str, ids)) or "no user of the portal (the email alone)"
    print(f"Erased user id(s) {who} of portal {portal}: {sum(done.tables.values()):,} rows changed in {len(done.tables)} tables"
          f" (erasure {done.erasure_id}, recorded in {warehouse.dataset}.erasures)")
    for table, rows in sorted(done.tables.items()):
        print(f"  {table:<48} {rows:>8,} rows")
    if done.models_rebuilt:
        print("The models were built again as of their last build's date" + (", and the report written again." if done.report_rewritten else "."))
    print("The person is erased here only: erase them on LearnUpon too (docs/personal-data.md, 'What remains outside the project').")
    return EXIT_OK


def _print_build(built: Any) -> None:
    for name, reason in built.skipped.items():
        print(f"skipped {name}: {reason}", file=sys.stderr)
    print(f"Built {len(built)} models as of {built.as_of} in {built.database} (dbt {built.timings.get('total', 0):.1f} s)")
    for name in built.marts:
        print(f"  {built.relation(name):<38} {built[name]:>10,} rows")
    for test in built.tests:
        if not test.passed:
            where = f" on {test.model}" if test.model else ""
            print(f"dbt test {test.name}{where}: {test.status}, {test.failures or 0} rows found", file=sys.stderr)


def command() -> None:
    """The `lms-warehouse` console script: main(), then the process ends without the interpreter's teardown."""
    exit_now(main())


if __name__ == "__main__":  # pragma: no cover
    command()
