"""The realm's `portals` table (pipelines/learnupon/resources/realm.py): read from a top-level portal over real
HTTP, it equals the simulated realm after a full run and after a churn (licences bought, members changed), keeps
each change as a version, reports the sub-portals the configuration lacks, and never calls generate_keys; a portal
not configured as top-level is never asked, and one configured wrongly fails that resource alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.learnupon.settings import ExtractOptions

from tests.conftest import cli, query, run_pipeline
from tests.support.truth import assert_tables_match

SUBS = ["emea", "apac", "partners"]
CONFIGURED = ("realm-hq", "emea", "apac")  # partners is listed by the realm, but nothing here has its keys
TOP_LEVEL = ExtractOptions(top_level=True)


@pytest.mark.parametrize("portal_factory", ["default", "strict"], indirect=True)
@pytest.mark.parametrize("quirks", ["default", "alt"])
def test_portals_equal_the_realm_after_full_and_churn_runs(portal_factory, tmp_path: Path, quirks: str) -> None:
    realm = portal_factory.realm(SUBS, users=30, page_size=2, quirks=quirks)
    first = run_pipeline(realm.top, tmp_path, ["portals"], options=TOP_LEVEL, configured_subdomains=CONFIGURED)
    assert first.status == "succeeded" and not first.failed
    assert_tables_match(tmp_path, realm.top.ground_truth(), ["portals"])

    before = {p["subdomain"]: p for p in realm.top.ground_truth()["portals"]}
    realm.churn(days=1, share=0.2)  # emea buys licences; every portal's users change
    after = {p["subdomain"]: p for p in realm.top.ground_truth()["portals"]}
    assert after["emea"]["number_licenses_purchased"] > before["emea"]["number_licenses_purchased"]
    run_pipeline(realm.top, tmp_path, ["portals"], options=TOP_LEVEL, configured_subdomains=CONFIGURED)
    assert_tables_match(tmp_path, realm.top.ground_truth(), ["portals"])

    # each change is a version: emea's licences before and after, the old one closed
    emea = query(tmp_path, "select number_licenses_purchased n, _dlt_valid_to is null current from learnupon.portals"
                           " where subdomain = 'emea' order by _dlt_valid_from")
    assert [(r["n"], r["current"]) for r in emea] == [
        (before["emea"]["number_licenses_purchased"], False), (after["emea"]["number_licenses_purchased"], True)]
    assert realm.generate_keys_calls() == 0
    assert set(realm.top.calls) == {"GET /portals"}  # the realm's listing, nothing else, on the top-level portal


def test_unconfigured_sub_portal_is_reported_never_keyed(portal_factory, tmp_path: Path) -> None:
    realm = portal_factory.realm(SUBS, users=20)
    summary = run_pipeline(realm.top, tmp_path, ["portals"], options=TOP_LEVEL, configured_subdomains=CONFIGURED)
    assert summary.extra["unconfigured_portals"] == ["partners"]
    issues = query(tmp_path, "select record_key, column_name, raw_value, problem from learnupon.data_issues"
                             " where table_name = 'portals'")
    partners = realm.entry("partners")
    assert [(r["record_key"], r["raw_value"]) for r in issues] == [(str(partners.id), "partners")]
    assert "not loaded" in issues[0]["problem"] and "never generated" in issues[0]["problem"]
    assert realm.generate_keys_calls() == 0
    for sub in realm.subs.values():
        assert sum(sub.calls.values()) == 0  # no call to any sub-portal, configured or not


def test_cli_prints_one_line_for_unconfigured_sub_portals(portal_factory, tmp_path: Path) -> None:
    realm = portal_factory.realm(["emea", "apac"], users=20)
    env = {"LEARNUPON_BASE_URL": realm.top.base_url, "LEARNUPON_SUBDOMAIN": "realm-hq", "LEARNUPON_TOP_LEVEL": "true",
           "LEARNUPON_USERNAME": realm.top.config.username, "LEARNUPON_PASSWORD": realm.top.config.password}
    done = cli("run", "--resources", "portals", "--out", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("Sub-portals not configured")]
    assert len(lines) == 1 and "emea, apac" in lines[0].replace("apac, emea", "emea, apac")
    assert realm.generate_keys_calls() == 0
    assert len(query(tmp_path, "select * from learnupon.portals where _dlt_valid_to is null")) == 2


def test_a_portal_not_configured_top_level_is_never_asked(portal_factory, tmp_path: Path) -> None:
    realm = portal_factory.realm(["emea"], users=20)
    summary = run_pipeline(realm.top, tmp_path, ["portals"])
    assert summary.status == "succeeded" and "GET /portals" not in realm.top.calls
    assert query(tmp_path, "select count(*) n from learnupon.portals")[0]["n"] == 0  # the table exists, empty


def test_a_sub_portal_configured_top_level_fails_that_resource_alone(portal_factory, tmp_path: Path) -> None:
    realm = portal_factory.realm(["emea"], users=20)
    emea = realm.subs["emea"]
    summary = run_pipeline(emea, tmp_path, ["portals", "groups"], options=TOP_LEVEL,
                           username="emea-user", password="emea-secret")
    assert list(summary.failed) == ["portals"]
    assert "answered 403" in summary.failed["portals"] and "set top_level off" in summary.failed["portals"]
    assert query(tmp_path, "select count(*) n from learnupon.groups")[0]["n"] > 0  # the others loaded
    assert realm.generate_keys_calls() == 0


def test_a_configured_realm_loads_its_listing_from_the_top_level_portal_only(portal_factory, tmp_path: Path) -> None:
    """[sources.learnupon.portals.<name>]: hq (top_level = true) and emea configured, apac listed but not."""
    realm = portal_factory.realm(["emea", "apac"], users=20, sub_users=15)
    env = {}
    for name, portal, subdomain in (("hq", realm.top, "realm-hq"), ("emea", realm.subs["emea"], "emea")):
        prefix = f"SOURCES__LEARNUPON__PORTALS__{name.upper()}__"
        env.update({prefix + "SUBDOMAIN": subdomain, prefix + "BASE_URL": portal.base_url,
                    prefix + "USERNAME": portal.keys[0], prefix + "PASSWORD": portal.keys[1]})
    env["SOURCES__LEARNUPON__PORTALS__HQ__TOP_LEVEL"] = "true"
    done = cli("run", "--resources", "portals,groups", "--out", str(tmp_path), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "Sub-portals not configured" in line]
    assert len(lines) == 1 and "generated): apac;" in lines[0], done.stdout  # one line, from the hq portal
    listed = query(tmp_path, "select portal, subdomain from learnupon.portals where _dlt_valid_to is null order by id")
    assert listed == [{"portal": "hq", "subdomain": "emea"}, {"portal": "hq", "subdomain": "apac"}]
    issues = query(tmp_path, "select portal, raw_value from learnupon.data_issues where table_name = 'portals'")
    assert issues == [{"portal": "hq", "raw_value": "apac"}]
    assert "GET /portals" not in realm.subs["emea"].calls and sum(realm.subs["apac"].calls.values()) == 0
    assert realm.generate_keys_calls() == 0
    groups = query(tmp_path, "select portal, count(*) n from learnupon.groups group by 1 order by 1")
    assert [g["portal"] for g in groups] == ["emea", "hq"]  # both configured portals loaded side by side
