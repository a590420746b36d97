"""The Delta Lake destination (`--destination delta`): dlt's filesystem destination writing Delta tables.

- lake.py: where the lake is (a local folder or any bucket URL dlt's filesystem takes, credentials
  the dlt way), opening its tables, and reading them with DuckDB through the `deltalake` package
  (DuckDB's downloadable delta extension is not needed).
- strategy.py: how each table is written, derived from the resources' own dlt hints (Delta merges
  only by upsert, insert-only or cdc): the one place that says it.
- history.py: after each load, SCD2 history kept by a Delta merge, and days of snapshots replaced
  whole, so the tables hold the same rows as on DuckDB.
- retirement.py: how the retirement's rules (pipelines/run/retirement.py) select and retire rows on the lake.
- resumed_load.py: a killed load's package resumed on the lake (the rule: pipelines/run/resumed_load.py).
- load_jobs.py: dlt's filesystem destination as the lake loads it: every table queued at once, one Delta write at a time.
"""

from .lake import DeltaLake
from .strategy import adapt_source, lake_table_name

__all__ = ["DeltaLake", "adapt_source", "lake_table_name"]
