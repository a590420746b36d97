"""A resource's pages reach dlt joined per table (arrow.ItemBatches): fewer items, the same rows, nothing overtaken.

dlt's extract costs a few milliseconds per item, so each resource's pages are joined into tables of up to
10,000 rows before dlt sees them. These tests pin what that must not change: the rows and their order, the
hints of items sent to another table, an item that is not a table never overtaking rows yielded before it,
and the rows a failing resource read before it failed still loading.
"""

from __future__ import annotations

from pathlib import Path

import dlt
import pyarrow as pa

from pipelines.learnupon.arrow import ItemBatches
from pipelines.learnupon.resources.common import child_table

from tests.conftest import CORE_RESOURCES, query, run_pipeline
from tests.support.portal_proxy import PortalProxy, Rule


def page(start: int, rows: int = 3, **extra: list) -> pa.Table:
    return pa.table({"id": list(range(start, start + rows)), **extra})


def table_of(item) -> pa.Table:
    return getattr(item, "data", item)


def test_pages_of_a_table_are_joined_in_order_up_to_the_batch_size() -> None:
    batches = ItemBatches(rows=7)
    out = []
    for start in (0, 3, 6, 9):
        out += batches.add(page(start), "users")
    assert [t.num_rows for t in out] == [9]  # 3 + 3 + 3 reached 7: one table
    out += batches.flush()
    assert [t.num_rows for t in out] == [9, 3]
    assert pa.concat_tables(out).column("id").to_pylist() == list(range(12))


def test_an_item_that_is_not_a_table_with_rows_lets_every_batch_go_first() -> None:
    batches = ItemBatches()
    marker = child_table(pa.table({"table_name": ["users"]}).slice(0, 0), "listing_scopes")  # empty: creates a table
    out = batches.add(page(0), "users") + batches.add(child_table(page(100), "user_custom_data"), "user_custom_data")
    assert out == []
    out += batches.add(marker, "listing_scopes")
    assert [table_of(i).column("id").to_pylist()[0] for i in out[:2]] == [0, 100]
    assert out[2] is marker
    assert batches.flush() == []


def test_items_sent_to_another_table_keep_their_hints_and_unequal_hints_never_share_a_batch() -> None:
    batches = ItemBatches()
    first = child_table(page(0), "user_custom_data")
    batches.add(first, "user_custom_data")
    batches.add(child_table(page(3), "user_custom_data"), "user_custom_data")
    other = dlt.mark.with_hints(page(6), dlt.mark.make_hints(table_name="user_custom_data", write_disposition="append"),
                                create_table_variant=True)
    out = batches.add(other, "user_custom_data")  # other hints: the batch so far goes first
    assert len(out) == 1 and out[0].meta.hints == first.meta.hints and out[0].data.num_rows == 6
    rest = batches.flush()
    assert len(rest) == 1 and rest[0].meta is other.meta and rest[0].data.num_rows == 3


def test_pages_whose_columns_cannot_be_joined_go_on_as_they_came() -> None:
    batches = ItemBatches()
    batches.add(page(0, extra=[1, 2, 3]), "users")
    batches.add(page(3, extra=["a", "b", "c"]), "users")  # a field's type changed between pages
    out = batches.flush()
    assert [t.column("extra").type for t in out] == [pa.int64(), pa.string()]


def test_rows_a_failing_resource_read_before_it_failed_still_load(portal_factory, tmp_path: Path) -> None:
    """Enrollments fail on the search of the course searched last: the searches before it still load, as
    they did when each page went to dlt as it came (held in a batch, they are let go when the resource fails)."""
    portal = portal_factory(users=60, page_size=25)
    truth = portal.ground_truth()
    by_course: dict[int, int] = {}
    for row in truth["enrollments"]:
        by_course[row["course_id"]] = by_course.get(row["course_id"], 0) + 1
    last = min(by_course, key=lambda c: (by_course[c], -c))  # the searches run largest first
    broken = Rule(rf"^/api/v1/enrollments/search\?(.*&)?course_id={last}(&|$)", status=500)
    proxy = PortalProxy(portal.root_url, [broken]).start()
    try:
        summary = run_pipeline(portal, tmp_path, resources=CORE_RESOURCES, base_url=proxy.base_url)
    finally:
        proxy.stop()
    assert broken.hits > 0 and summary.status == "partial" and set(summary.failed) == {"enrollments"}, summary.failed
    loaded = query(tmp_path, "select id, course_id from learnupon.enrollments")
    assert loaded and all(row["course_id"] != last for row in loaded)
    portal_ids = {row["id"] for row in truth["enrollments"]}
    assert {row["id"] for row in loaded} <= portal_ids
    assert len(loaded) >= len(truth["enrollments"]) // 2, (len(loaded), len(truth["enrollments"]))
