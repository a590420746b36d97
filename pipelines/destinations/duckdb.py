"""The DuckDB destination (the default): the loads write `<out>/warehouse.duckdb`; readers open its snapshot."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..privacy.erasure_sql import EraseEngine
from .base import Destination


class DuckDbFile(Destination):
    """A warehouse whose loads write the DuckDB file `warehouse.duckdb_path` (DuckDB, and Parquet's working file)."""

    def dlt_destination(self) -> Any:
        import dlt
        from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

        from .dlt_factory import settled

        warehouse = self.warehouse
        credentials = DuckDbCredentials(str(warehouse.duckdb_path.resolve()), global_config=warehouse.duckdb_config)
        return settled(dlt.destinations.duckdb)(credentials=credentials)

    @property
    def location(self) -> Path:
        return self.warehouse.duckdb_path

    def check_before_run(self) -> None:
        from .duckdb_storage import ensure_readable_by_older_duckdb
        from ..run.lock import ensure_duckdb_writable

        ensure_duckdb_writable(self.warehouse.duckdb_path)
        ensure_readable_by_older_duckdb(self.warehouse.duckdb_path)  # created (or converted once) in an older format

    def check_writable(self, consequence: str) -> None:
        from ..run.lock import ensure_duckdb_writable

        ensure_duckdb_writable(self.warehouse.duckdb_path, consequence=consequence)

    @contextmanager
    def held_open(self, consequence: str) -> Iterator[None]:
        """dlt opens the file for each job of a load and closes it after (DuckDB starts the database anew each
        time: about 20 ms, and a checkpoint at each close); while this connection is open, each of those is a
        handle on the database already open. dlt's connections pass no settings when they connect (it sets
        them after), and neither does this one: DuckDB shares an open database only with the same settings.
        Opening it is also the check that no other process holds the file (WarehouseBusy, with `consequence`)."""
        from ..run.lock import connect_writable

        path = self.warehouse.duckdb_path
        # None: open in this process already; a file not made yet is left to be made as check_before_run makes it
        con = connect_writable(path, consequence=consequence) if path.exists() else None
        try:
            yield
        finally:
            if con is not None:
                con.close()

    def erase_rows(self, targets: Mapping[str, tuple[set[int], set[str]]], key: bytes) -> dict[str, int]:
        import duckdb

        from ..privacy.erasure_sql import erase_people

        with duckdb.connect(str(self.warehouse.duckdb_path), config=self.warehouse.models_duckdb_config) as con:
            con.execute("begin")
            counts = erase_people(DuckDbSession(con), self.warehouse.dataset, targets, key)
            con.execute("commit")
        return counts

    def compact(self, tables: Any) -> None:
        from .duckdb_storage import rewrite

        rewrite(self.warehouse.duckdb_path)


class DuckDbSession(EraseEngine):
    """An erasure's SQL on a DuckDB connection."""

    def __init__(self, con: Any) -> None:
        self.con = con

    def rows(self, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def changed(self, sql: str) -> int:
        return int(self.con.execute(sql).fetchone()[0])

    def insert(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.con.executemany(sql, [list(r) for r in rows])


class DuckDb(DuckDbFile):
    name = "duckdb"

    def discard_published(self) -> None:
        from .duckdb_snapshot import discard_snapshots

        discard_snapshots(self.warehouse.out_dir)

    def publish_loads(self) -> dict[str, float]:
        from .duckdb_snapshot import publish_snapshot

        refresh = publish_snapshot(self.warehouse)  # readers (BI tools) open the snapshot, never the file loads write
        return {"snapshot": refresh.seconds} if refresh else {}

    def publish_models(self) -> None:
        self.publish_loads()

    def table_counts(self) -> dict[str, int]:
        import duckdb

        warehouse = self.warehouse
        counts: dict[str, int] = {}
        if not warehouse.duckdb_path.exists():
            return counts
        with duckdb.connect(str(warehouse.duckdb_path), read_only=True) as con:
            tables = con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1",
                [warehouse.dataset],
            ).fetchall()
            for (name,) in tables:
                if not name.startswith("_dlt"):
                    counts[name] = con.execute(f'select count(*) from "{warehouse.dataset}"."{name}"').fetchone()[0]
        return counts

    def check_user_sync(self) -> None:
        """The user sync plans and journals in the DuckDB file."""
