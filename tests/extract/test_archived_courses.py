"""Course versions a portal shows only to a search by name: every one lands, in both simulator modes.

`include_all_versions` "works with name", and whether an empty `name` pattern matches every course is not said;
a portal where it matches none lists current versions only. Older versions are then found by name: a renamed
family (seed 13: "Code of Conduct", now "Code of Conduct (2023)") by each title its versions carry, and a family
archived whole (seed 13: 50005, 50012) by the title the course-instructor listing names it with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import query, run_pipeline
from tests.support import raw_truth

MODES = pytest.mark.parametrize("portal_factory", ["default", "strict"], indirect=True)


@MODES
def test_every_archived_version_lands_where_an_empty_name_matches_nothing(portal_factory: Any, tmp_path: Path) -> None:
    portal = portal_factory(users=40, seed=13, empty_name_search="empty")
    families = portal.state.families.values()
    renamed = [f for f in families if len({portal.state.courses[c].name for c in f.versions}) > 1]
    retired = [f for f in families if f.retired_at is not None]
    assert renamed and retired  # the seed has both kinds, or the test proves nothing
    run_pipeline(portal, tmp_path, resources=["courses"])
    loaded = {row["id"] for row in query(tmp_path, "select id from learnupon.courses")}
    for family in [*renamed, *retired]:
        assert set(family.versions) <= loaded, f"family {family.source_id}: {sorted(set(family.versions) - loaded)} missing"
    assert loaded == {row["id"] for row in raw_truth.expected_rows(portal)["courses"]}  # every course, nothing else
