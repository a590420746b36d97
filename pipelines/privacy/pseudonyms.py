"""Keyed pseudonyms: HMAC-SHA256 of a value, keyed by LMS_PSEUDONYM_KEY, as 64 hex digits.

The value is trimmed of spaces and lower-cased first, so an email written `Ann@X.com` in one table and
`ann@x.com` in another gets one pseudonym and joins still match. The same key gives the same pseudonym in
every run, table and engine. Neither DuckDB nor PostgreSQL (without pgcrypto) has HMAC, both have SHA-256:
the SQL computes HMAC from the key's inner and outer pads (RFC 2104), which reach dbt's sessions as DuckDB
variables (dbt_duckdb.py) or PostgreSQL settings (PGOPTIONS), set by `pseudonym_session`. Neither the key
nor its pads appear in the SQL dbt compiles, its logs or the warehouse.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager

BLOCK = 64  # SHA-256's block size: HMAC's pads are this long
PG_SETTINGS = ("lms.pseudonym_ipad", "lms.pseudonym_opad")  # the PostgreSQL session settings the SQL reads
DUCKDB_VARIABLES = ("lms_pseudonym_ipad", "lms_pseudonym_opad")  # DuckDB's

_session_pads: tuple[str, str] | None = None  # of the pseudonymised build running in this process (dbt runs in-process)


def normalise(value: str) -> str:
    return value.strip(" ").lower()


def pseudonym(key: bytes, value: object) -> str | None:
    if value is None:
        return None
    return hmac.new(key, normalise(str(value)).encode("utf-8"), hashlib.sha256).hexdigest()


def pads(key: bytes) -> tuple[str, str]:
    """HMAC's inner and outer pads of the key, as hex (RFC 2104), for SQL that has SHA-256 but no HMAC."""
    block = hashlib.sha256(key).digest() if len(key) > BLOCK else key
    block = block.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in block).hex(), bytes(b ^ 0x5C for b in block).hex()


def active_pads() -> tuple[str, str] | None:
    return _session_pads


@contextmanager
def pseudonym_session(key: bytes) -> Iterator[None]:
    """While a pseudonymised build runs: the key's pads for DuckDB's connections (dbt_duckdb.py) and for
    PostgreSQL's sessions (libpq reads PGOPTIONS when dbt-postgres connects)."""
    global _session_pads
    before = os.environ.get("PGOPTIONS")
    ipad, opad = pads(key)
    options = f"-c {PG_SETTINGS[0]}={ipad} -c {PG_SETTINGS[1]}={opad}"
    _session_pads = (ipad, opad)
    os.environ["PGOPTIONS"] = f"{before} {options}" if before else options
    try:
        yield
    finally:
        _session_pads = None
        if before is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = before
