"""The Parquet destination: loads as DuckDB does, into a working DuckDB file, then publishes Parquet folders
for readers (pipelines/destinations/parquet_publication.py)."""

from __future__ import annotations

from .duckdb import DuckDbFile


class Parquet(DuckDbFile):
    name = "parquet"

    def check_settings(self) -> None:
        from .parquet_publication import check_layout

        check_layout(self.warehouse)

    def publish_loads(self) -> dict[str, float]:
        from .parquet_publication import publish_warehouse

        return {"publish": publish_warehouse(self.warehouse).seconds}

    def publish_from_scratch(self) -> float | None:
        import shutil

        from .parquet_publication import publish_warehouse

        shutil.rmtree(self.warehouse.parquet_dir)
        return publish_warehouse(self.warehouse).seconds

    def discard_published(self) -> None:
        import shutil

        shutil.rmtree(self.warehouse.parquet_dir, ignore_errors=True)  # published whole again after the erasure

    def export_marts(self, marts: dict[str, str]) -> None:
        """Beside the raw tables' folders, published alike."""
        from .parquet_publication import publish_marts

        publish_marts(self.warehouse, marts)

    def table_counts(self) -> dict[str, int]:
        """The current rows a reader sees (history is apart)."""
        from .parquet_publication import published_counts

        return published_counts(self.warehouse.parquet_dir)

    def reader_note(self) -> str | None:
        folder = self.warehouse.parquet_dir
        return f"Parquet for readers: {folder}/<table>/ (current rows), {folder}/history/<table>/ (every version and retired row)"
