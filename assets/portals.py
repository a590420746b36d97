"""One partition per configured portal: the source assets are partitioned by portal, the models are not.

The partitions are static, laid out from the configuration when the definitions load
(`pipelines.config.portal_names`: the `[sources.learnupon.portals.<name>]` tables, else the single-portal
settings' one portal); a portal added or removed shows after the code location is reloaded. A run of one
partition loads that portal alone, into its own rows (`portal` column) and its own dlt pipeline; the
run queue keeps two runs of one portal apart (`dagster/partition`, dagster_home/dagster.yaml).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import StaticPartitionsDefinition

from pipelines.config import portal_names

# the run tag Dagster gives every run of a partition: here, the portal the run loads
PARTITION_TAG = "dagster/partition"


def portal_partitions(names: Sequence[str] | None = None) -> StaticPartitionsDefinition:
    """The portals as partitions: `names`, else the configured portals' names."""
    return StaticPartitionsDefinition(list(portal_names() if names is None else names))


def run_portal(context: Any) -> str | None:
    """The portal a run (an asset's or a check's context) is for: its partition; None for a run without one."""
    op_context = getattr(context, "op_execution_context", context)
    return op_context.partition_key if op_context.has_partition_key else None
