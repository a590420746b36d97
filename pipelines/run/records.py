"""The run's own records (`data_issues`, `contract_drift`) travel in the load package of the data they describe.

A run that is killed or signalled after its extract leaves its package pending, and the next run
loads it (pipelines/run/resumed_load.py): written only after the load, these records were lost with
the process. So the last resource of every extract, `run_records`, yields the issues and the drift
seen so far into the same package as the rows. Whatever a run notices later (the exam-answer
batches, its own bookkeeping) goes into the next package, or into the small load that records the
run in `pipeline_runs` at its end; each issue and each drift row is written once.

The other run records already ride with their resources' rows: the listing markers
(`listing_scopes`) and the audit trail's `audit_gaps`. `pipeline_runs` is written once the run
knows its outcome; a run that never got there has no row, and the run that finished its load
names it (`details.resumed`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dlt

from ..learnupon import schema
from ..learnupon.arrow import IssueLog, to_arrow
from ..learnupon.context import ExtractContext
from ..learnupon.tables import with_portal

DATA_ISSUES_ROW = {**schema.DATA_ISSUES, "run_id": "text"}
RESOURCE = "run_records"
RUN_RECORD_TABLES = ("data_issues", "contract_drift")  # what the run says about itself, not rows of the portal


@dataclass
class RunRecords:
    """What of a run's issues and drift is already on its way to the warehouse."""

    context: ExtractContext
    run_id: str
    issues_written: int = 0
    drift_written: set[tuple[Any, ...]] = field(default_factory=set)

    def take(self) -> dict[str, Any]:
        """Arrow tables (data_issues, contract_drift) of the records not taken before; empty ones left out."""
        log = self.context.issues
        issues = log.rows()[self.issues_written :]
        self.issues_written += len(issues)
        drift = []
        for row in log.drift_rows():
            key = (row["table_name"], row["field"], row["drift"])
            if key not in self.drift_written:
                self.drift_written.add(key)
                drift.append({**row, "run_id": self.run_id})
        scratch = IssueLog()  # converting the run's records is not part of the portal's contract
        tables = {}
        if issues:
            rows = [{**issue, "run_id": self.run_id} for issue in issues]
            tables["data_issues"] = to_arrow(rows, DATA_ISSUES_ROW, table="data_issues", key=[], issues=scratch)
        if drift:
            tables["contract_drift"] = to_arrow(drift, schema.CONTRACT_DRIFT, table="contract_drift", key=[], issues=scratch)
        return {table: with_portal(arrow, self.context.portal_name) for table, arrow in tables.items()}

    def empty(self, table: str) -> Any:
        """An empty Arrow table of a run-record table: creates it with its columns (a stable schema)."""
        spec = DATA_ISSUES_ROW if table == "data_issues" else schema.CONTRACT_DRIFT
        return with_portal(to_arrow([], spec, table=table, key=[], issues=IssueLog()), self.context.portal_name)

    def resource(self) -> Any:
        """The extract's last resource: the records seen so far, in the same load package as the rows."""

        def records() -> Iterator[Any]:
            for table, arrow in self.take().items():
                # appended, no key: another table than the resource's needs its own hints
                hints = dlt.mark.make_hints(table_name=table, write_disposition="append", primary_key=[])
                yield arrow if table == "data_issues" else dlt.mark.with_hints(arrow, hints, create_table_variant=True)

        return dlt.resource(records, name=RESOURCE, table_name="data_issues", write_disposition="append")

    def with_records(self, source: Any) -> Any:
        """The source with `run_records` added last (resources extract one after another, in order)."""
        source.resources.add(self.resource())
        return source
