"""The report of a realm: two portals in one warehouse whose ids overlap (the hand-made story of
tests/models/test_models_data.py on each, Ada's overdue Forklift Safety completed on globex).
The main report shows the realm's totals, each portal's figures beside them and portal-labelled
sections; `portal=` gives one portal's report, which is what a warehouse of that portal alone gives."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import unquote

import duckdb
import pytest

from pipelines.learnupon.errors import ConfigError
from pipelines.models import build_models
from pipelines.report import write_report
from pipelines.run.runner import Warehouse
from tests.models.test_models_data import PORTAL, make_duckdb_warehouse
from tests.report.test_report import AS_OF, NOW
from tests.support.report_html import headline_cards

OTHER = "globex"
# the headline cards by the portals table's column that holds the same figure
CARD_COLUMNS = {
    "Required trainings (learner &times; course)": "Required trainings",
    "Learners with required training": "Learners with required training",
    "Overdue (rows of the overdue list)": "Overdue",
    "Due within 30 days": "Due within 30 days",
    "Certificates expired": "Certificates expired",
    "Certificates expiring in 30 days": "Certificates expiring in 30 days",
    "Inactive learners with open training": "Inactive learners with open training",
    "Session no-shows": "Session no-shows",
}


def _without_stamps(html: str, folder: str) -> str:
    html = re.sub(r"generated [0-9: -]+UTC", "", html).replace(folder, "FILES")
    return html.replace(f'<p class="stamp">Portal {PORTAL} only</p>\n', "")


def _portals_table(html: str) -> dict[str, dict[str, str]]:
    body = re.search(r'download="portals\.csv" href="data:text/csv;charset=utf-8,([^"]*)"', html)
    assert body, "no portals table"
    rows = list(csv.DictReader(io.StringIO(unquote(body.group(1)))))
    return {row["Portal"]: row for row in rows}


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("realm-report")
    make_duckdb_warehouse(out, portals=(PORTAL, OTHER))
    with duckdb.connect(str(out / "warehouse.duckdb")) as con:
        # globex: Ada completed Forklift Safety; acme's Ada (the same user id) is still overdue
        con.execute(
            "update learnupon.enrollments set status = 'completed', date_completed = timestamptz '2026-05-30 00:00+00'"
            " where portal = ? and id = 1",
            [OTHER],
        )
    result = build_models(Warehouse(out_dir=out), as_of=AS_OF)
    assert not result.failed_tests, result.failed_tests  # (the story has no exam questions: their models are skipped)
    write_report(Warehouse(out_dir=out), out / "realm.html", as_of=AS_OF, build=False, now=NOW)
    for portal in (PORTAL, OTHER):
        write_report(Warehouse(out_dir=out), out / f"{portal}.html", as_of=AS_OF, build=False, now=NOW, portal=portal)
    return out


def test_realm_headline_is_the_sum_of_its_portals(realm: Path) -> None:
    html = (realm / "realm.html").read_text()
    table = _portals_table(html)
    assert list(table) == [PORTAL, OTHER, "All portals"]
    cards = headline_cards(html)
    for card, column in CARD_COLUMNS.items():
        assert int(cards[card][0]) == int(table[PORTAL][column]) + int(table[OTHER][column]) == int(table["All portals"][column]), card
    # Ada's Forklift Safety: overdue on acme, compliant on globex
    assert (table[PORTAL]["Overdue"], table[OTHER]["Overdue"]) == ("1", "0")
    assert (table[PORTAL]["Compliance rate"], table[OTHER]["Compliance rate"], table["All portals"]["Compliance rate"]) == ("33.3%", "50.0%", "41.7%")
    assert cards["Compliance rate"][0] == "41.7%"
    # each portal's own report carries the same figures as its row
    for portal in (PORTAL, OTHER):
        own = headline_cards((realm / f"{portal}.html").read_text())
        assert {column: own[card][0] for card, column in CARD_COLUMNS.items()} == {
            column: table[portal][column] for column in CARD_COLUMNS.values()
        }


def test_a_portals_report_is_what_a_warehouse_of_that_portal_alone_gives(realm: Path, tmp_path: Path) -> None:
    make_duckdb_warehouse(tmp_path)  # acme alone
    build_models(Warehouse(out_dir=tmp_path), as_of=AS_OF)
    alone = write_report(Warehouse(out_dir=tmp_path), tmp_path / f"{PORTAL}.html", as_of=AS_OF, build=False, now=NOW)
    scoped = (realm / f"{PORTAL}.html").read_text()
    assert f"Portal {PORTAL} only" in scoped
    assert _without_stamps(scoped, f"{PORTAL}_files") == _without_stamps(alone.read_text(), f"{PORTAL}_files")
    assert sorted(p.name for p in (realm / f"{PORTAL}_files").iterdir()) == sorted(p.name for p in (tmp_path / f"{PORTAL}_files").iterdir())
    # one portal: no portals table, no portal in labels or page names
    assert 'id="portals"' not in alone.read_text() and "acme:" not in alone.read_text()


def test_sections_and_lists_name_their_portal(realm: Path) -> None:
    html = (realm / "realm.html").read_text()
    assert "2 portals (acme, globex)" in html
    pages = sorted(p.name for p in (realm / "realm_files").glob("*-*.html") if not p.name.startswith("overdue"))
    # group 10 Warehouse, group 20 Office and manager 1 Ada on each portal: the same ids, a page each
    assert pages == sorted(f"{kind}-{portal}-{key}.html" for kind, key in (("group", 10), ("group", 20), ("manager", 1)) for portal in (PORTAL, OTHER))
    assert "acme: Warehouse" in html and "globex: Warehouse" in html
    globex_group = (realm / "realm_files" / "group-globex-10.html").read_text()
    assert "group 10 of portal globex" in globex_group
    overdue = re.search(r'download="overdue_training_page_1\.csv" href="data:text/csv;charset=utf-8,([^"]*)"', html)
    rows = list(csv.reader(io.StringIO(unquote(overdue.group(1)))))
    assert rows[0][0] == "Portal" and [row[0] for row in rows[1:]] == [PORTAL]  # Ada, on acme only


def test_report_for_a_portal_the_warehouse_lacks_says_which_it_has(realm: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"the warehouse has no portal 'initech' \(its portals: acme, globex\)"):
        write_report(Warehouse(out_dir=realm), tmp_path / "r.html", as_of=AS_OF, build=False, portal="initech")
