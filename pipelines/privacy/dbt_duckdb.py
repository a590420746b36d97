"""A dbt-duckdb plugin: on every connection dbt opens during a pseudonymised build, the key's HMAC pads
as DuckDB variables (`lms_pseudonym_ipad`, `lms_pseudonym_opad`), which the `pseudonym` macro reads
(sql/macros/pseudonymised.sql). They never appear in SQL dbt compiles or logs, nor in the profile; outside
a pseudonymised build nothing is set, and the macro's SQL fails rather than hash with no key."""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from .pseudonyms import DUCKDB_VARIABLES, active_pads


def _set_pads(con: Any) -> None:
    values = active_pads()
    if values is None:
        return
    for name, value in zip(DUCKDB_VARIABLES, values):
        con.execute(f"set variable {name} = '{value}'")  # hex digits only


class Plugin(BasePlugin):
    """DuckDB keeps variables per connection, and dbt runs each statement on a cursor (a connection of its own)."""

    def configure_connection(self, conn: Any) -> None:
        _set_pads(conn)

    def configure_cursor(self, cursor: Any) -> None:
        _set_pads(cursor)
