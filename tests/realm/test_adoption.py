"""A warehouse made before raw tables had a `portal` column keeps working: its next run adopts its rows.

The old warehouse is made by the project's own code of the last commit before the column (`git archive`),
against the same simulated portal; the next run (today's code) gives every old row the portal, loads nothing
twice and retires nothing, then churn and an incremental run keep it equal to the portal.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from tests.conftest import query, run_pipeline
from tests.support.events import CEILING_SECONDS
from tests.support.truth import assert_matches_truth

REPOSITORY = Path(__file__).resolve().parents[2]
BEFORE_PORTALS = "356eb01478c3f19eb96b1330b20049db57f72fa1"  # the last commit whose raw tables had no portal column

OLD_RUN = """
import sys
from pathlib import Path
from pipelines.config import PortalSettings
from pipelines.learnupon.context import ExtractContext
from pipelines.learnupon.settings import ExtractOptions
from pipelines.run.runner import Warehouse, run_extract
base_url, username, password, out = sys.argv[1:]
settings = PortalSettings(base_url=base_url, username=username, password=password, workers=4)
context = ExtractContext(client_factory=settings.client, options=ExtractOptions(workers=4))
summary = run_extract(context, Warehouse(out_dir=Path(out)))
assert summary.status == "succeeded", summary.error
"""


def _old_code(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPOSITORY), "archive", "--format=tar", BEFORE_PORTALS, "pipelines"],
        capture_output=True, check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def test_a_warehouse_made_before_portals_is_adopted_by_its_portal(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=30)
    out = tmp_path / "out"
    old = _old_code(tmp_path / "old")
    env = {**os.environ, "PYTHONPATH": str(old)}
    made = subprocess.run(
        [sys.executable, "-c", OLD_RUN, portal.base_url, portal.config.username, portal.config.password, str(out)],
        capture_output=True, text=True, env=env, cwd=old, timeout=CEILING_SECONDS,
    )
    assert made.returncode == 0, made.stderr[-2000:]
    assert not query(out, "select 1 from information_schema.columns where table_schema = 'learnupon' and column_name = 'portal'")
    versions_before = query(out, "select count(*) n from learnupon.users")[0]["n"]

    summary = run_pipeline(portal, out)
    assert summary.status == "succeeded", summary.error
    assert summary.extra["adopted"]["users"] == versions_before == 30
    assert not summary.extra.get("retired"), "adopted rows are the portal's: nothing vanished"
    users = query(out, "select portal, count(*) n, count(_dlt_valid_to) retired from learnupon.users group by 1")
    assert users == [{"portal": "127.0.0.1", "n": 30, "retired": 0}], "no second version for the new row hash"
    unlabelled = query(
        out,
        "select table_name from information_schema.columns where table_schema = 'learnupon' and column_name = 'portal'"
        " and table_name not like '_dlt%'",
    )
    for (table,) in [tuple(r.values()) for r in unlabelled]:
        assert query(out, f"select count(*) n from learnupon.{table} where portal is null")[0]["n"] == 0, table
    assert_matches_truth(out, portal.ground_truth())

    portal.churn(days=1, share=0.05)
    assert run_pipeline(portal, out).status == "succeeded"
    assert_matches_truth(out, portal.ground_truth())
