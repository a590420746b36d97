"""Before extracting: the pipeline's local state must describe the warehouse it writes to.

dlt keeps incremental cursors and table schemas in its working folder (`<out>/.dlt`)
and a copy of the state in the warehouse with every load. When the warehouse no longer
holds the newest state the folder knows (the file was deleted after a "corrupt
database" error, replaced, or restored from an older backup), trusting the folder would
skip everything loaded since: a run would "succeed" with most rows missing and tables
never created. So the folder is dropped and the state the warehouse itself holds is
restored (none at all: a load from scratch), and the run says so in one line.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("lms_warehouse.state")


def warehouse_state_version(pipeline: Any) -> int | None:
    """The newest pipeline state version the warehouse holds, None if it holds none (or no dataset)."""
    try:
        with pipeline.destination_client() as client:
            stored = client.get_stored_state(pipeline.pipeline_name)
    except Exception as exc:  # no dataset, no state table: an empty or foreign warehouse
        log.debug("no pipeline state in the warehouse: %s", exc)
        return None
    return None if stored is None else int(stored.version)


def match_state_to_warehouse(pipeline: Any, location: Any) -> str | None:
    """Reset the local state if the warehouse lacks what it says was loaded; returns the notice, or None."""
    if pipeline.first_run:
        return None  # nothing loaded yet: dlt restores a warehouse's own state by itself
    local = int(pipeline.state.get("_state_version") or 0)
    stored = warehouse_state_version(pipeline)
    if stored is not None and stored >= local:
        return None
    held = "no pipeline state" if stored is None else f"state version {stored}"
    notice = (
        f"the warehouse at {location} holds {held} but this folder's state is at version {local}"
        " (deleted, replaced or restored from a backup):"
        + (" reloading from scratch" if stored is None else " resuming from the warehouse's own state")
    )
    log.warning(notice)
    pipeline.drop()
    if stored is not None:
        pipeline.sync_destination()
    return notice
