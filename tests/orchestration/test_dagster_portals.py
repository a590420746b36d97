"""Dagster over a realm: one partition per configured portal, through Dagster's own APIs.

Three simulated portals whose ids overlap, configured as a user does ([sources.learnupon.portals.<name>], here
the matching environment variables), one of them with refused keys: its partition fails alone and the others
materialize; loading one portal's partition again (after a churn on its portal) leaves every other portal's
rows as they were; the checks of a partition read that portal's rows alone; each load schedule asks for one
run per portal; a load made outside Dagster is reported on its portal's partition; retention (LMS_RETAIN_DELETED_DAYS)
erases in the partition's portal alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dagster import (
    AssetCheckKey,
    AssetKey,
    DagsterInstance,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from assets.checks import ALL_CHECKS
from assets.definitions import build_definitions
from assets.resources import LearnUponResource, WarehouseResource
from pipelines.learnupon.tables import LISTING_SCOPES, PORTAL, TABLES, USERS
from pipelines.simulator import SimulatedPortal

from tests.conftest import cli, query

NAMES = ("east", "north", "south")  # east's keys are refused
SEEDS = {"north": 11, "south": 14, "east": 13}
WRONG = "not-the-key"
LOADED = ("users", "courses", "enrollments")  # enough for every kind of check: keys, freshness, budget, reconciliation
USERS_KEY = AssetKey(["learnupon", USERS])
BOOKKEEPING = {LISTING_SCOPES}  # appended by every run of every portal: not a row of the portal


@dataclass
class Realm:
    portals: dict[str, SimulatedPortal]
    out: Path
    env: dict[str, str]


@pytest.fixture
def realm(portal_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Realm]:
    portals = {name: portal_factory(users=15, seed=SEEDS[name]) for name in NAMES}
    env = {}
    for name, portal in portals.items():
        prefix = f"SOURCES__LEARNUPON__PORTALS__{name.upper()}__"
        env[prefix + "BASE_URL"] = portal.base_url
        env[prefix + "USERNAME"] = portal.config.username
        env[prefix + "PASSWORD"] = WRONG if name == "east" else portal.config.password
    for name in ("LEARNUPON_BASE_URL", "LEARNUPON_SUBDOMAIN", "LEARNUPON_USERNAME", "LEARNUPON_PASSWORD",
                 "LEARNUPON_WEEKLY_RESERVE", "LMS_WAREHOUSE_DESTINATION", "LMS_SCHEDULES_FILE", "LMS_SYNC_ROSTER"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "warehouse"
    monkeypatch.setenv("LMS_WAREHOUSE_DIR", str(out))
    monkeypatch.chdir(tmp_path)  # no .dlt/ of the repository's: the portals are the environment's
    yield Realm(portals, out, env)


def load(defs: Any, portal: str, instance: DagsterInstance) -> Any:
    """Materialize the portal's partition of a few source assets, with their checks, as a backfill's run does."""
    extract = next(a for a in defs.assets if getattr(a, "partitions_def", None) is not None)
    return materialize(
        [extract, *ALL_CHECKS],
        selection=[AssetKey(["learnupon", name]) for name in LOADED],
        partition_key=portal,
        instance=instance,
        resources={"warehouse": WarehouseResource(), "learnupon": LearnUponResource()},
        raise_on_error=False,
    )


def rows_of(out: Path, portal: str) -> dict[str, list[tuple]]:
    """Every row (history included) of one portal in every raw table, but which load wrote it."""
    rows = {}
    for table in sorted(set(TABLES) - BOOKKEEPING):
        try:
            found = query(out, f"select * from learnupon.{table} where {PORTAL} = ?", [portal])
        except duckdb.CatalogException:  # a table no run of these resources writes
            continue
        rows[table] = sorted(
            tuple(sorted((k, repr(v)) for k, v in r.items() if k not in ("_dlt_load_id", "_dlt_id"))) for r in found
        )
    return rows


def test_a_failing_portal_fails_its_partition_alone_and_a_reload_of_one_portal_touches_no_other(realm: Realm) -> None:
    defs = build_definitions()
    job = defs.resolve_job_def("daily_full_job")
    assert job.partitions_def.get_partition_keys() == list(NAMES)
    instance = DagsterInstance.ephemeral()

    results = {name: load(defs, name, instance) for name in NAMES}

    assert not results["east"].success
    assert results["east"].get_asset_materialization_events() == []
    failure = next(e for e in results["east"].all_events if e.is_step_failure)
    message = failure.event_specific_data.error.to_string()
    assert "east" in message and WRONG not in message
    for name in ("north", "south"):
        result = results[name]
        assert result.success, name
        events = result.get_asset_materialization_events()
        assert {(e.asset_key.path[-1], e.partition) for e in events} == {(r, name) for r in LOADED}
        assert all(e.materialization.metadata["portal"].value == name for e in events)
        checks = result.get_asset_check_evaluations()
        assert checks and all(e.passed for e in checks), [e.asset_check_key for e in checks if not e.passed]
        assert all(e.metadata["portal_scope"].value == f"portal {name}" for e in checks if "portal_scope" in e.metadata)
    users = query(realm.out, f"select portal, count(*) as n from learnupon.{USERS} where _dlt_valid_to is null group by 1 order by 1")
    assert users == [{"portal": "north", "n": 15}, {"portal": "south", "n": 15}]
    runs = query(realm.out, "select portal, status, run_id from learnupon.pipeline_runs order by portal")
    assert [(r["portal"], r["status"]) for r in runs] == [("east", "failed"), ("north", "succeeded"), ("south", "succeeded")]
    # each portal's run is recorded under its own Dagster run's id
    assert {r["run_id"] for r in runs} == {results[name].run_id.replace("-", "")[:12] for name in NAMES}

    # south churns on its portal; a run of south's partition alone changes south's rows and no other portal's
    north_before, south_before = rows_of(realm.out, "north"), rows_of(realm.out, "south")
    assert sum(len(rows) for rows in north_before.values()) > 50
    assert realm.portals["south"].churn(days=1, share=0.05)
    again = load(defs, "south", instance)
    assert again.success
    assert {e.partition for e in again.get_asset_materialization_events()} == {"south"}
    assert rows_of(realm.out, "north") == north_before
    assert rows_of(realm.out, "east") == {table: [] for table in north_before}
    assert rows_of(realm.out, "south") != south_before


def test_the_checks_of_a_partition_read_that_portals_rows_alone(realm: Realm) -> None:
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    for name in ("north", "south"):
        assert load(defs, name, instance).success
    # a duplicated current user in north only
    with duckdb.connect(str(realm.out / "warehouse.duckdb")) as con:
        con.execute(f"insert into learnupon.{USERS} select * from learnupon.{USERS}"
                    " where portal = 'north' and _dlt_valid_to is null limit 1")
    check = AssetCheckKey(USERS_KEY, f"unique_key_{USERS}")
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_check_selection={check}, asset_selection=set())
    verdicts = {}
    for name in ("north", "south"):
        result = job.execute_in_process(instance=instance, partition_key=name, raise_on_error=False)
        (evaluation,) = result.get_asset_check_evaluations()
        verdicts[name] = (evaluation.passed, evaluation.metadata["duplicate_keys"].value, evaluation.metadata["portal_scope"].value)
    assert verdicts == {"north": (False, 1, "portal north"), "south": (True, 0, "portal south")}
    # without a partition, the check reads every portal's rows
    (whole,) = job.execute_in_process(instance=instance, raise_on_error=False).get_asset_check_evaluations()
    assert not whole.passed and whole.metadata["portal_scope"].value == "every portal"
    assert whole.metadata["rows_checked"].value == 31  # 15 + 15 + the duplicate


def test_each_load_schedule_asks_for_one_run_per_portal(realm: Realm) -> None:
    defs = build_definitions()
    for name in ("light_loads_schedule", "daily_full_schedule", "audit_trails_schedule"):
        schedule = defs.resolve_schedule_def(name)
        with DagsterInstance.ephemeral() as instance:
            context = build_schedule_context(instance=instance, repository_def=defs.get_repository_def())
            requests = schedule.evaluate_tick(context).run_requests
        assert [r.partition_key for r in requests] == list(NAMES), name
        assert len({r.run_key for r in requests}) == len(NAMES)
    # the models are built over every portal's rows: one run, no partition
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(instance=instance, repository_def=defs.get_repository_def())
        (models,) = defs.resolve_schedule_def("models_daily_schedule").evaluate_tick(context).run_requests
    assert models.partition_key is None


def test_a_load_made_outside_dagster_shows_on_its_portals_partition(realm: Realm) -> None:
    defs = build_definitions()
    ran = cli("run", "--out", str(realm.out), "--resources", "users", "--portals", "north", env=realm.env, cwd=realm.out.parent)
    assert ran.returncode == 0, ran.stderr
    instance = DagsterInstance.ephemeral()
    context = build_sensor_context(instance=instance, resources={"warehouse": WarehouseResource()})
    reported = defs.resolve_sensor_def("cli_loads")(context)
    assert isinstance(reported, SensorResult)
    assert [(e.asset_key, e.partition) for e in reported.asset_events] == [(USERS_KEY, "north")]


def test_retention_applies_to_a_partitions_run_and_its_portal_alone(realm: Realm, monkeypatch: pytest.MonkeyPatch) -> None:
    """LMS_RETAIN_DELETED_DAYS under Dagster (the setting as the learnupon resource's field): a partition's run
    erases its portal's users deleted upstream longer than the setting, and no other portal's user of that id."""
    from pipelines.simulator.domains.users import delete_user

    monkeypatch.setenv("LMS_PSEUDONYM_KEY", "a-test-key-for-dagster-retention-0123")
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    for name in ("north", "south"):
        assert load(defs, name, instance).success
    north = realm.portals["north"]
    gone = min(north.state.users)  # an id south has too: ids overlap
    email_of = f"select distinct email from learnupon.{USERS} where portal = ? and id = ?"
    north_email, south_email = (query(realm.out, email_of, [portal, gone]) for portal in ("north", "south"))
    assert north_email and south_email and north_email != south_email
    with north.lock:
        delete_user(north.state, north.state.users[gone])
        north.api.invalidate()
    assert load(defs, "north", instance).success  # retention off: the deleted user's history keeps its values
    with duckdb.connect(str(realm.out / "warehouse.duckdb")) as con:
        con.execute(f"update learnupon.{USERS} set _dlt_valid_to = _dlt_valid_to - interval 40 day"
                    " where portal = 'north' and id = ? and _dlt_valid_to is not null", [gone])

    extract = next(a for a in defs.assets if getattr(a, "partitions_def", None) is not None)
    result = materialize(
        [extract], selection=[USERS_KEY], partition_key="north", instance=instance,
        resources={"warehouse": WarehouseResource(), "learnupon": LearnUponResource(retain_deleted_days=30)},
    )

    assert result.success
    assert query(realm.out, "select portal, user_id, reason from learnupon.erasures") == [
        {"portal": "north", "user_id": gone, "reason": "retention"}]
    # north's user keeps its rows (the facts stay under the id) without its email; south's user of that id is untouched
    assert query(realm.out, f"select count(*) as n from learnupon.{USERS} where portal = 'north' and id = ?", [gone])[0]["n"] >= 1
    assert all(r["email"] != north_email[0]["email"] for r in query(realm.out, email_of, ["north", gone]))
    assert query(realm.out, email_of, ["south", gone]) == south_email


def test_the_sync_plans_and_applies_for_the_rosters_portal_alone(realm: Realm, monkeypatch: pytest.MonkeyPatch) -> None:
    """A roster is for one portal (LMS_SYNC_PORTAL): sync_apply_job for its partition writes to that portal alone, a run
    of another portal's partition fails before planning, the apply refuses a plan made for another portal, and the
    roster sensor asks for the roster portal's partition."""
    from assets.sync import build_sync_sensor, SyncResource

    from tests.support.sync_roster import by_external_id, new_hire, people, write_roster

    north, south = realm.portals["north"], realm.portals["south"]
    roster = write_roster(realm.out.parent / "roster.csv", people(north) + [new_hire(1, location="Sales")])
    monkeypatch.setenv("LMS_SYNC_ROSTER", str(roster))
    monkeypatch.setenv("LMS_SYNC_PORTAL", "north")
    defs = build_definitions()
    instance = DagsterInstance.ephemeral()
    writes = ("POST /users", "PUT /users/{id}", "POST /group_memberships")

    applied = defs.resolve_job_def("sync_apply_job").execute_in_process(instance=instance, partition_key="north")
    assert applied.success
    plan_events = [e for e in applied.get_asset_materialization_events() if e.asset_key == AssetKey(["sync", "sync_plan"])]
    assert [e.materialization.metadata["portal"].value for e in plan_events] == ["north"]
    assert by_external_id(north)["N0001"][0]["groups"] == {"Sales"}
    assert "N0001" not in by_external_id(south) and sum(south.calls[w] for w in writes) == 0

    # a run of south's partition with north's roster: fails before it plans, and writes nothing anywhere
    north_writes = sum(north.calls[w] for w in writes)
    wrong = defs.resolve_job_def("sync_apply_job").execute_in_process(instance=instance, partition_key="south",
                                                                       raise_on_error=False)
    assert not wrong.success
    failure = next(e for e in wrong.all_events if e.is_step_failure)
    assert "the roster is for portal north" in failure.event_specific_data.error.to_string()
    # the apply alone, told the roster is south's: the plan in the warehouse is north's, so it is refused
    monkeypatch.setenv("LMS_SYNC_PORTAL", "south")
    alone = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={AssetKey(["sync", "sync_actions"])})
    refused = alone.execute_in_process(instance=instance, raise_on_error=False,
                                       run_config={"ops": {"sync__sync_actions": {"config": {"apply": True}}}})
    assert not refused.success
    failure = next(e for e in refused.all_events if e.is_step_failure)
    assert "sync.sync_plan was made for portal north, not south" in failure.event_specific_data.error.to_string()
    assert sum(north.calls[w] for w in writes) == north_writes and sum(south.calls[w] for w in writes) == 0

    # the sensor asks for the roster portal's partition; with several portals and none named, for none
    sensor = build_sync_sensor()
    request = sensor(build_sensor_context(resources={"sync": SyncResource()}))
    assert isinstance(request, RunRequest) and request.partition_key == "south"
    monkeypatch.delenv("LMS_SYNC_PORTAL")
    skipped = sensor(build_sensor_context(resources={"sync": SyncResource()}))
    assert isinstance(skipped, SkipReason) and "set LMS_SYNC_PORTAL" in str(skipped.skip_message)


def test_the_portals_loads_of_one_tick_queue_one_build_of_the_models() -> None:
    """models_after_loads asks for a build after a load unless a build of every model is already queued (it starts
    after that load, so it reads its rows): the portals' loads of one tick end one after another and queue one build.
    A queued build of some models only (after a partial load) does not stand in for it."""
    from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, build_run_status_sensor_context
    from dagster._core.remote_origin import InProcessCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from assets.models import MODEL_KEYS
    from assets.schedules import SENSORS

    defs = build_definitions(list(NAMES))
    instance = DagsterInstance.ephemeral()
    load_job, models_job = defs.resolve_job_def("light_loads_job"), defs.resolve_job_def("models_job")
    sensor = next(s for s in SENSORS if s.name == "models_after_loads")
    # a queued run names where its code is (Dagster requires it): this code location, as the daemon would
    origin = RemoteJobOrigin(
        repository_origin=RemoteRepositoryOrigin(
            code_location_origin=InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name="assets.definitions")),
            repository_name="__repository__"),
        job_name=models_job.name)

    def after_load_of(portal: str) -> Any:
        run = instance.create_run_for_job(job_def=load_job, status=DagsterRunStatus.SUCCESS, tags={"dagster/partition": portal})
        event = DagsterEvent(event_type_value=DagsterEventType.RUN_SUCCESS.value, job_name=load_job.name)
        return sensor(build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=event, dagster_instance=instance,
                                                      dagster_run=run, repository_def=defs.get_repository_def()))

    assert isinstance(after_load_of("north"), RunRequest)
    instance.create_run_for_job(job_def=models_job, status=DagsterRunStatus.QUEUED, remote_job_origin=origin,
                                asset_selection=frozenset(MODEL_KEYS[:3]))
    assert isinstance(after_load_of("south"), RunRequest)  # a partial build does not build everything
    queued = instance.create_run_for_job(job_def=models_job, status=DagsterRunStatus.QUEUED, remote_job_origin=origin)
    skipped = after_load_of("east")
    assert isinstance(skipped, SkipReason) and queued.run_id in str(skipped.skip_message)
