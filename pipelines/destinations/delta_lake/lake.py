"""Where a Delta warehouse lives, and how this project opens, reads and writes its tables.

The lake is dlt's filesystem destination: a bucket URL (a local folder by default, or `s3://`,
`gs://`, `az://`...) and its credentials, both resolved by dlt's own configuration (arguments,
environment such as `DESTINATION__FILESYSTEM__BUCKET_URL` and
`DESTINATION__FILESYSTEM__CREDENTIALS__...`, `.dlt/secrets.toml`). Raw tables are
`<bucket>/<dataset>/<table>`, the reporting tables `<bucket>/marts/<table>`.

Reading goes through the `deltalake` package: each table's current snapshot is handed to DuckDB
as an Arrow dataset (columns and filters pushed down), so neither DuckDB's downloadable delta
extension nor its httpfs extension is needed, and object stores work offline of DuckDB.
Storage options carry secrets: they are passed to `deltalake` only, never logged or stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pyarrow as pa

log = logging.getLogger("lms_warehouse.delta")

MARTS = "marts"  # the folder of the reporting tables, beside the dataset's
BUCKET_URL_KEY = "destination.filesystem.bucket_url"  # dlt's config key (env DESTINATION__FILESYSTEM__BUCKET_URL)
# Every table's Delta properties. delta-rs buffers a whole data file before it writes it, in a write and in a
# MERGE's rewrite alike: at its default (100 MiB files) a million-row table's first write added about 390 MiB
# and a merge into it about 800 MiB; with 16 MiB files about 140 and 560 (docs/benchmarks.md, Delta's memory).
# Given to dlt's writes (deltalake_configuration) and ours; a table made before is altered once (ensure_properties).
TABLE_PROPERTIES = {"delta.targetFileSize": str(16 * 2**20)}


def bucket_url(explicit: str | None, default_folder: Path) -> str:
    """The lake's URL: `--delta-url`, else dlt's configured bucket URL, else a local folder beside the run's files."""
    import dlt

    chosen = explicit or dlt.config.get(BUCKET_URL_KEY)
    if not chosen:
        return Path(default_folder).resolve().as_uri()
    chosen = str(chosen)
    return chosen if "://" in chosen else Path(chosen).resolve().as_uri()


def safe_url(url: str) -> str:
    """A URL without any user or password in it."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        parts = parts._replace(netloc=parts.hostname or "")
    return urlunsplit(parts)


def arrow_dataset(dt: Any) -> Any:
    """The table's current snapshot as an Arrow dataset (read lazily: DuckDB scans only the columns it needs)."""
    return dt.to_pyarrow_dataset()


def duckdb_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for SQL over Arrow datasets of the lake.

    Filters are not pushed into the Arrow scans: DuckDB hands text filters to pyarrow as string
    views, which pyarrow cannot compare with the Parquet files' strings ("Function 'equal' has no
    kernel matching input types (string, string_view)"). DuckDB filters the rows itself.
    """
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set disabled_optimizers = 'filter_pushdown,join_filter_pushdown'")
    return con


class DeltaLake:
    """The Delta tables of one warehouse: `dataset` (the raw tables) and `marts` under `bucket_url`."""

    def __init__(self, destination: Any, dataset: str) -> None:
        self.destination = destination  # a dlt filesystem destination (its credentials resolve lazily)
        self.dataset = dataset

    @cached_property
    def config(self) -> Any:
        """dlt's resolved filesystem configuration (bucket URL, credentials, deltalake options).

        Settings dlt cannot resolve (credentials for the bucket) raise one ConfigError naming them.
        """
        from dlt.common.configuration.exceptions import ConfigFieldMissingException
        from dlt.destinations.dataset import get_destination_client_initial_config

        from ...learnupon.errors import ConfigError

        try:
            # bound to the dataset as dlt's own clients bind it (the spec asks for the dataset's name)
            return self.destination.configuration(get_destination_client_initial_config(self.destination, self.dataset))
        except ConfigFieldMissingException as exc:
            missing = ", ".join(str(f) for f in getattr(exc, "fields", []) if f != "local_dir") or "a setting"
            raise ConfigError(
                f"--destination delta at {safe_url(str(self.destination.config_params.get('bucket_url') or ''))}:"
                f" dlt could not resolve {missing} (set DESTINATION__FILESYSTEM__CREDENTIALS__... or"
                " [destination.filesystem.credentials] in .dlt/secrets.toml; docs/destinations.md)"
            ) from None

    @cached_property
    def storage_options(self) -> dict[str, str]:
        from dlt.common.libs.deltalake import deltalake_storage_options

        return deltalake_storage_options(self.config.credentials, self.config.deltalake_storage_options)

    @property
    def bucket_url(self) -> str:
        return str(self.config.bucket_url).rstrip("/")

    @property
    def display_url(self) -> str:
        """The bucket URL without any user or password in it (safe to print); needs no credentials."""
        return safe_url(str(self.destination.config_params.get("bucket_url") or ""))

    def table_uri(self, table: str, folder: str | None = None) -> str:
        return f"{self.bucket_url}/{folder or self.dataset}/{table}"

    # ---- tables --------------------------------------------------------------------------------

    def open(self, table: str, folder: str | None = None) -> Any | None:
        """The table's DeltaTable at its newest version, None if there is no such Delta table."""
        from deltalake import DeltaTable
        from deltalake.exceptions import TableNotFoundError

        try:  # one read of the log, not a check and then a read
            return DeltaTable(self.table_uri(table, folder), storage_options=self.storage_options)
        except TableNotFoundError:
            return None

    @cached_property
    def _fs(self) -> Any:
        from dlt.common.storages.fsspec_filesystem import fsspec_from_config

        return fsspec_from_config(self.config)[0]

    def table_names(self, folder: str | None = None) -> list[str]:
        """Delta tables in the dataset (or `folder`): every subfolder with a `_delta_log`; dlt's own tables left out."""
        root = self.table_uri("", folder).rstrip("/")
        try:
            entries = self._fs.ls(root, detail=True, refresh=True)
        except FileNotFoundError:
            return []
        names = []
        for entry in entries:
            name = str(entry["name"]).rstrip("/").rsplit("/", 1)[-1]
            if entry.get("type") == "directory" and not name.startswith("_dlt"):
                if self._fs.exists(f"{root}/{name}/_delta_log"):
                    names.append(name)
        return sorted(names)

    def exists(self) -> bool:
        return bool(self.table_names())

    def write(self, table: str, data: Any, folder: str | None = None, mode: str = "overwrite") -> None:
        """Write (replace, by default) a whole table in one Delta commit; readers see the old or the new version."""
        from deltalake import write_deltalake
        from dlt.common.libs.deltalake import ensure_delta_compatible_arrow_data

        write_deltalake(
            self.table_uri(table, folder),
            ensure_delta_compatible_arrow_data(data),
            mode=mode,
            schema_mode="overwrite" if mode == "overwrite" else "merge",
            storage_options=self.storage_options,
            configuration=TABLE_PROPERTIES,  # taken when the table is created
        )

    def ensure_properties(self) -> list[str]:
        """Give every table of the dataset made without them TABLE_PROPERTIES (one commit each); return their names.

        Delta takes a table's properties when it is created, so a lake loaded before they were declared keeps
        its 100 MiB files, and its merges their memory, until altered. A table already right costs one read
        of its log."""
        altered = []
        for name in self.table_names():
            dt = self.open(name)
            if dt is None:
                continue
            configuration = dt.metadata().configuration
            if any(configuration.get(key) != value for key, value in TABLE_PROPERTIES.items()):
                dt.alter.set_table_properties(TABLE_PROPERTIES)
                altered.append(name)
        if altered:
            log.info("Delta table properties %s set on %s", TABLE_PROPERTIES, ", ".join(altered))
        return altered

    def rewrite_whole(self, table: str, data: Any, folder: str | None = None) -> None:
        """Replace a table by a new Delta table holding `data` alone: no older file version and no log entry of
        one keeps what it held (an erasure: pipelines/privacy/erasure.py). Not atomic for readers: the table is
        absent between the removal and the write, and a run lock keeps writers out."""
        import pyarrow as pa

        data = pa.table(data) if not isinstance(data, pa.Table) else data
        self._fs.rm(self.table_uri(table, folder), recursive=True)
        self.write(table, data, folder)

    # ---- reading with SQL ----------------------------------------------------------------------

    def register(self, con: duckdb.DuckDBPyConnection, tables: Iterable[str] | None = None, schema: str | None = None) -> list[str]:
        """Make the lake's tables `schema.<table>` (default: the dataset's name) in `con`, reading the Delta tables as they are now."""
        schema = schema or self.dataset
        con.execute(f'create schema if not exists "{schema}"')
        from .strategy import LISTING_SUFFIX  # SCD2 listings are working tables, empty between loads

        names = list(tables) if tables is not None else [n for n in self.table_names() if not n.endswith(LISTING_SUFFIX)]
        registered = []
        for name in names:
            dt = self.open(name)
            if dt is None:
                continue
            handle = f"__delta_{schema}_{name}"
            con.register(handle, arrow_dataset(dt))
            con.execute(f'create or replace view "{schema}"."{name}" as select * from "{handle}"')
            registered.append(name)
        return registered

    @contextmanager
    def connect(self, tables: Iterable[str] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB connection where `<dataset>.<table>` reads each Delta table (or only `tables`)."""
        con = duckdb_connection()
        try:
            self.register(con, tables)
            yield con
        finally:
            con.close()

    def sql_client(self) -> Any:
        """What `pipelines.run.warehouse_facts.read_facts` asks of a pipeline: `execute_sql` over the lake's tables."""
        return _LakeSqlClient(self)


class _LakeSqlClient:
    """The part of dlt's SQL client the warehouse readers use (`execute_sql`, qualified names), over DuckDB views of the lake."""

    def __init__(self, lake: DeltaLake) -> None:
        self.lake = lake
        self.dataset_name = lake.dataset
        self._con: duckdb.DuckDBPyConnection | None = None
        self._context: Any = None

    def __enter__(self) -> _LakeSqlClient:
        self._context = self.lake.connect()
        self._con = self._context.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._context.__exit__(*exc)
        self._con = None

    def make_qualified_table_name(self, table: str) -> str:
        return f'"{self.dataset_name}"."{table}"'

    def escape_column_name(self, column: str) -> str:
        return '"' + column.replace('"', '""') + '"'

    def execute_sql(self, sql: str, *args: Any) -> list[tuple]:
        assert self._con is not None
        return self._con.execute(sql.replace("%s", "?"), list(args)).fetchall()
