"""Asset checks: each returns AssetCheckResult(passed=..., metadata=...) and can fail.

- unique_key_<table>      every raw table's primary key is unique and not null (current rows of SCD2 tables)
- fresh_load              each resource's last successful load (pipeline_runs) is younger than its max age
- weekly_api_reserve      the weekly API budget left after the last run is above LEARNUPON_WEEKLY_RESERVE
- no_audit_gap            no audit events lost (audit_gaps empty) and the last audit load is under 30 days old
- enrollments_match_course_counts  courses' num_enrolled vs the current enrollments loaded per course version

Per portal: run with a partition (a portal's load), a check reads that portal's rows alone (`where portal =
...`, assets/portals.py); run without one (from the UI, or a run without a partition), it reads every
portal's, and the checks that look at the latest load (freshness, budget, audit) judge each portal's
own latest load and report the worst.

They read the warehouse through `WarehouseResource.raw()`, on every destination a connection with
DuckDB's `execute(sql, params)`; their SQL is written in what DuckDB and PostgreSQL both speak, so
it runs where the tables are (a DuckDB file, a Delta lake read by DuckDB, a PostgreSQL database).
"""

import os
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    MetadataValue,
    asset_check,
    multi_asset_check,
)

from pipelines.learnupon import ALL_RESOURCES, TABLE_RESOURCES
from pipelines.learnupon.tables import AUDIT_GAPS, AUDIT_TRAILS, COURSES, ENROLLMENTS, PORTAL, TABLES
from pipelines.learnupon.settings import AUDIT_WINDOW_DAYS

from . import settings
from .extract import WAREHOUSE_POOL, resource_key
from .portals import run_portal
from .resources import WarehouseResource

RAW = "learnupon"

# raw table -> (key columns, SCD2: only current rows must be unique), from the table registry
RAW_KEYS: dict[str, tuple[tuple[str, ...], bool]] = {
    name: (TABLES[name].unique_key, TABLES[name].scd2) for name in TABLE_RESOURCES
}

SAMPLE = 5  # duplicate keys shown in a failing check's metadata


def _exists(con: Any, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()[0]
    )


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def portal_filter(portal: str | None) -> tuple[list[str], list[Any]]:
    """The conditions and parameters that keep one portal's rows (none: every portal's)."""
    return ([f"{PORTAL} = ?"], [portal]) if portal else ([], [])


def _where(conditions: list[str]) -> str:
    return f" where {' and '.join(conditions)}" if conditions else ""


def scope_of(portal: str | None) -> str:
    return f"portal {portal}" if portal else "every portal"


def key_report(
    con: Any, relation: str, keys: tuple[str, ...], conditions: list[str] | None = None, params: list[Any] | None = None
) -> dict[str, Any]:
    """Rows, duplicate keys (with a sample) and null keys of `relation` on `keys`, among the rows `conditions`
    (with `params`, `?` placeholders) keep."""
    conditions, params = list(conditions or []), list(params or [])
    cols = ", ".join(_quote(k) for k in keys)
    filt = _where(conditions)
    rows = con.execute(f"select count(*) from {relation}{filt}", params).fetchone()[0]
    nulls_where = " or ".join(f"{_quote(k)} is null" for k in keys)
    nulls = con.execute(f"select count(*) from {relation}{_where([*conditions, f'({nulls_where})'])}", params).fetchone()[0]
    dup_sql = f"select {cols}, count(*) as n from {relation}{filt} group by {cols} having count(*) > 1"
    duplicates, extra = con.execute(f"select count(*), coalesce(sum(n - 1), 0) from ({dup_sql}) as dup", params).fetchone()
    sample = con.execute(f"{dup_sql} order by n desc limit {SAMPLE}", params).fetchall() if duplicates else []
    return {
        "rows": int(rows),
        "duplicate_keys": int(duplicates),
        "extra_rows": int(extra),
        "null_keys": int(nulls),
        "sample": [dict(zip([*keys, "rows"], [str(v) for v in row])) for row in sample],
    }


def _key_result(
    check: AssetCheckKey, report: dict[str, Any], keys: tuple[str, ...], scope: str, portal: str | None
) -> AssetCheckResult:
    passed = report["duplicate_keys"] == 0 and report["null_keys"] == 0
    metadata: dict[str, Any] = {
        "key": ", ".join(keys),
        "scope": scope,
        "portal_scope": scope_of(portal),
        "rows_checked": report["rows"],
        "duplicate_keys": report["duplicate_keys"],
        "extra_rows": report["extra_rows"],
        "null_keys": report["null_keys"],
    }
    if report["sample"]:
        metadata["duplicate_sample"] = MetadataValue.json(report["sample"])
    return AssetCheckResult(
        asset_key=check.asset_key, check_name=check.name, passed=passed, metadata=metadata, severity=AssetCheckSeverity.ERROR
    )


def _not_there(check: AssetCheckKey, note: str) -> AssetCheckResult:
    return AssetCheckResult(asset_key=check.asset_key, check_name=check.name, passed=True, metadata={"note": note})


# ---- primary keys of the raw tables ----------------------------------------------------------------

KEY_CHECK_PREFIX = "unique_key_"
RAW_KEY_SPECS = [
    AssetCheckSpec(
        name=f"{KEY_CHECK_PREFIX}{table}",
        asset=resource_key(resource),
        description=(
            f"learnupon.{table}: ({', '.join(RAW_KEYS[table][0])}) is unique and not null"
            + (" among current rows (_dlt_valid_to is null)" if RAW_KEYS[table][1] else "")
        ),
    )
    for table, resource in TABLE_RESOURCES.items()
    if table in RAW_KEYS
]


@multi_asset_check(specs=RAW_KEY_SPECS, can_subset=True, name="raw_key_checks", pool=WAREHOUSE_POOL)
def raw_key_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
    portal = run_portal(context)
    with warehouse.raw() as con:
        for check in sorted(context.selected_asset_check_keys, key=lambda k: k.name):
            table = check.name[len(KEY_CHECK_PREFIX):]
            keys, scd2 = RAW_KEYS[table]
            if not _exists(con, RAW, table):
                yield _not_there(check, f"{RAW}.{table} does not exist yet: the resource has loaded no rows into it")
                continue
            conditions, params = portal_filter(portal)
            if scd2:
                conditions.append("_dlt_valid_to is null")
            report = key_report(con, f"{RAW}.{table}", keys, conditions, params)
            yield _key_result(check, report, keys, "current rows" if scd2 else "all rows", portal)


# ---- freshness and the API budget, from pipeline_runs -------------------------------------------------

FRESHNESS_SPECS = [
    AssetCheckSpec(
        name="fresh_load",
        asset=resource_key(resource),
        description=f"the last successful load of {resource} (pipeline_runs) is younger than its max age (schedules.toml)",
    )
    for resource in ALL_RESOURCES
]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# `resources` is a comma-separated list: the resource (the parameter, ",<name>,") is one of its items
LISTS_RESOURCE = "position(? in ',' || resources || ',') > 0"


def last_success(con: Any, resource: str, portal: str | None = None) -> tuple[datetime | None, str | None]:
    """When the newest succeeded run of `portal` that included `resource` finished, and its run id; without a
    portal, the stalest portal's (each portal's newest such run, the oldest of those)."""
    if not _exists(con, RAW, "pipeline_runs"):
        return None, None
    conditions, params = portal_filter(portal)
    row = con.execute(
        f"select finished_at, run_id from (select finished_at, run_id,"
        f" row_number() over (partition by {PORTAL} order by finished_at desc) as newest from {RAW}.pipeline_runs"
        f"{_where(['status = ?', LISTS_RESOURCE, *conditions])}) as latest"
        " where newest = 1 order by finished_at limit 1",
        ["succeeded", f",{resource},", *params],
    ).fetchone()
    return (_aware(row[0]), row[1]) if row else (None, None)


@multi_asset_check(specs=FRESHNESS_SPECS, can_subset=True, name="freshness_checks", pool=WAREHOUSE_POOL)
def freshness_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
    config = settings.load_config()
    now = _now()
    portal = run_portal(context)
    with warehouse.raw() as con:
        for check in sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.path[-1]):
            resource = check.asset_key.path[-1]
            max_age = settings.freshness_max_age_hours(resource, config)
            finished, run_id = last_success(con, resource, portal)
            metadata: dict[str, Any] = {"max_age_hours": max_age, "portal_scope": scope_of(portal)}
            if finished is None:
                metadata["note"] = "no successful load of this resource in pipeline_runs"
                passed = False
            else:
                age = (now - finished).total_seconds() / 3600
                metadata.update(last_loaded_at=finished.isoformat(), age_hours=round(age, 2), pipeline_run_id=run_id)
                passed = age <= max_age
            yield AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=passed,
                metadata=metadata,
                severity=AssetCheckSeverity.WARN,
            )


BUDGET_SPECS = [
    AssetCheckSpec(
        name="weekly_api_reserve",
        asset=resource_key(resource),
        description="calls left this week after the last run (pipeline_runs.remaining_week) >= LEARNUPON_WEEKLY_RESERVE",
    )
    for resource in ALL_RESOURCES
]


@multi_asset_check(specs=BUDGET_SPECS, can_subset=True, name="api_budget_checks", pool=WAREHOUSE_POOL)
def api_budget_checks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> Iterator[AssetCheckResult]:
    reserve = settings.weekly_reserve()
    portal = run_portal(context)
    with warehouse.raw() as con:
        row = None
        if _exists(con, RAW, "pipeline_runs"):
            # each portal's budget is its own: the portal's last run, else the portal with the least left
            conditions, params = portal_filter(portal)
            row = con.execute(
                "select run_id, finished_at, remaining_week, min_remaining_minute, api_calls, portal from"
                f" (select *, row_number() over (partition by {PORTAL} order by finished_at desc) as newest"
                f" from {RAW}.pipeline_runs{_where(['remaining_week is not null', *conditions])}) as latest"
                " where newest = 1 order by remaining_week limit 1",
                params,
            ).fetchone()
    for check in sorted(context.selected_asset_check_keys, key=lambda k: k.asset_key.path[-1]):
        if row is None:
            yield _not_there(check, "no run has reported the weekly budget yet (no API call made)")
            continue
        run_id, finished, remaining, min_minute, calls, of_portal = row
        yield AssetCheckResult(
            asset_key=check.asset_key,
            check_name=check.name,
            passed=int(remaining) >= reserve,
            metadata={
                "remaining_week": int(remaining),
                "weekly_reserve": reserve,
                "headroom_over_reserve": int(remaining) - reserve,
                "min_remaining_minute": None if min_minute is None else int(min_minute),
                "last_run_api_calls": int(calls or 0),
                "pipeline_run_id": run_id,
                "last_run_finished_at": _aware(finished).isoformat(),
                "portal": of_portal,
            },
            severity=AssetCheckSeverity.ERROR,
        )


# ---- audit trails: events lost for good -----------------------------------------------------------------


@asset_check(
    asset=resource_key(AUDIT_TRAILS),
    name="no_audit_gap",
    pool=WAREHOUSE_POOL,
    description=(
        f"fails when audit_gaps has a row (events lost: the API keeps {AUDIT_WINDOW_DAYS} days) or when the newest"
        f" audit load is older than {AUDIT_WINDOW_DAYS} days (events are being lost now)"
    ),
)
def no_audit_gap(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    acknowledged = os.environ.get("LMS_AUDIT_GAPS_ACKNOWLEDGED_UNTIL")  # ISO timestamp: gaps noticed up to it are known
    now = _now()
    portal = run_portal(context)
    conditions, params = portal_filter(portal)
    with warehouse.raw() as con:
        gaps: list[tuple[Any, ...]] = []
        if _exists(con, RAW, AUDIT_GAPS):
            gaps = con.execute(
                f"select gap_start, gap_end, noticed_at, run_id, {PORTAL} from {RAW}.{AUDIT_GAPS}{_where(conditions)}"
                " order by gap_start",
                params,
            ).fetchall()
        newest_event = None
        if _exists(con, RAW, AUDIT_TRAILS):
            newest_event = _aware(
                con.execute(f"select max(date_and_time_utc) from {RAW}.{AUDIT_TRAILS}{_where(conditions)}", params).fetchone()[0]
            )
        last_load, run_id = last_success(con, AUDIT_TRAILS, portal)
    cutoff = _aware(datetime.fromisoformat(acknowledged)) if acknowledged else None
    open_gaps = [g for g in gaps if cutoff is None or (_aware(g[2]) or now) > cutoff]
    age_days = None if last_load is None else (now - last_load).total_seconds() / 86400
    stale = age_days is None or age_days > AUDIT_WINDOW_DAYS
    metadata: dict[str, Any] = {
        AUDIT_GAPS: len(gaps),
        "unacknowledged_gaps": len(open_gaps),
        "gaps": MetadataValue.json(
            [{"gap_start": str(g[0]), "gap_end": str(g[1]), "noticed_at": str(g[2]), "run_id": g[3], "portal": g[4]}
             for g in gaps[-10:]]
        ),
        "newest_event_at": str(newest_event) if newest_event else "none loaded",
        "last_audit_load_at": last_load.isoformat() if last_load else "never",
        "days_since_last_audit_load": None if age_days is None else round(age_days, 2),
        "days_left_before_events_are_lost": None if age_days is None else round(AUDIT_WINDOW_DAYS - age_days, 2),
        "api_window_days": AUDIT_WINDOW_DAYS,
        "portal_scope": scope_of(portal),
    }
    if cutoff:
        metadata["acknowledged_until"] = cutoff.isoformat()
    if open_gaps:
        metadata["problem"] = "audit events were lost for good: see the gaps; run audit_trails at least weekly"
    elif stale:
        metadata["problem"] = f"no successful audit load in the last {AUDIT_WINDOW_DAYS} days: events may have been lost"
    return AssetCheckResult(
        passed=not open_gaps and not stale,
        metadata={k: v for k, v in metadata.items() if v is not None},
        severity=AssetCheckSeverity.ERROR,
    )


# ---- reconciliation with the API's own totals ------------------------------------------------------------


@asset_check(
    asset=resource_key(ENROLLMENTS),
    name="enrollments_match_course_counts",
    additional_deps=[resource_key(COURSES)],
    pool=WAREHOUSE_POOL,
    description=(
        "for every course version, num_enrolled (the API's counter of current learners) is within tolerance of"
        " the enrollments loaded for it that are not unenrolled"
    ),
)
def enrollments_match_course_counts(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    absolute, relative = settings.reconciliation_tolerance()
    tolerance = (
        f"a course passes when |loaded - num_enrolled| <= max({absolute}, {relative:g} x num_enrolled). The counter"
        " counts current learners (enrollments that exist now); courses are loaded daily and enrollments hourly, so enrollments made or"
        " removed between the two loads, and removals the API does not report, make small honest differences"
    )
    portal = run_portal(context)
    conditions, params = portal_filter(portal)
    with warehouse.raw() as con:
        if not (_exists(con, RAW, COURSES) and _exists(con, RAW, ENROLLMENTS)):
            return AssetCheckResult(passed=True, metadata={"note": "courses or enrollments not loaded yet", "tolerance": tolerance})
        # course ids repeat across a realm's portals: a course's enrollments are its own portal's
        rows = con.execute(
            f"""
            with loaded as (
                select {PORTAL}, course_id, count(*) as loaded
                from {RAW}.{ENROLLMENTS}
                where not coalesce(unenrolled, false)
                group by {PORTAL}, course_id
            )
            select courses.id, courses.name, coalesce(courses.num_enrolled, 0), coalesce(loaded.loaded, 0), courses.{PORTAL}
            from {RAW}.{COURSES} as courses
            left join loaded on loaded.{PORTAL} = courses.{PORTAL} and loaded.course_id = courses.id
            {_where(["courses.num_enrolled is not null", *("courses." + c for c in conditions)])}
            order by courses.{PORTAL}, courses.id
            """,
            params,
        ).fetchall()
    failing = []
    total_api = total_loaded = 0
    for course_id, name, counted, loaded, of_portal in rows:
        total_api += counted
        total_loaded += loaded
        allowed = max(absolute, relative * counted)
        if abs(loaded - counted) > allowed:
            failing.append({"portal": of_portal, "course_id": course_id, "name": name, "num_enrolled": counted, "loaded": loaded})
    metadata: dict[str, Any] = {
        "portal_scope": scope_of(portal),
        "courses_checked": len(rows),
        "courses_out_of_tolerance": len(failing),
        "num_enrolled_total": int(total_api),
        "enrollments_loaded_total": int(total_loaded),
        "tolerance": tolerance,
    }
    if failing:
        metadata["failing_courses"] = MetadataValue.json(failing[:20])
    return AssetCheckResult(passed=not failing, metadata=metadata, severity=AssetCheckSeverity.ERROR)


ALL_CHECKS = [raw_key_checks, freshness_checks, api_budget_checks, no_audit_gap, enrollments_match_course_counts]
