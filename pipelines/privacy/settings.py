"""The privacy settings: the environment first (`LMS_<NAME>`), then dlt's providers under `[privacy]`
(`.dlt/secrets.toml`, `.dlt/config.toml`, or `PRIVACY__<NAME>` in the environment).

- LMS_PSEUDONYM_KEY (secret): the key of the pseudonyms (HMAC-SHA256), at least 16 characters. Keep it
  the same across runs: the pseudonyms, and so joins and trends over them, stay the same only with it.
- LMS_PSEUDONYMISED_REPORTING: true builds the pseudonymised reporting schema with every model build.
- LMS_PSEUDONYMISED_READERS: PostgreSQL roles granted the pseudonymised schema (and nothing else) after each build.
- LMS_BLOCK_COLUMNS, LMS_HASH_COLUMNS: `table.column` lists the load never stores, or stores as pseudonyms.

A missing or malformed value is a ConfigError naming the setting, never echoing a secret.
"""

from __future__ import annotations

import os
from typing import Any

from ..learnupon.errors import ConfigError

MIN_KEY_LENGTH = 16


def lookup(name: str, secret: bool = False) -> Any:
    """LMS_<NAME> from the environment, else `privacy.<name>` from dlt's providers; None when unset or blank."""
    value = os.environ.get(f"LMS_{name.upper()}")
    if value not in (None, ""):
        return value.strip()
    import dlt

    from ..config import unreadable_settings

    try:
        found = (dlt.secrets if secret else dlt.config).get(f"privacy.{name}")
    except Exception as exc:  # a malformed settings file
        raise unreadable_settings(None, exc) from None
    if isinstance(found, str):
        found = found.strip()
    return None if found in (None, "") else found


def flag(name: str) -> bool:
    value = lookup(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"LMS_{name.upper()} must be true or false, got {value!r}")


def names(name: str) -> list[str]:
    """A list setting: comma-separated text (environment) or a TOML list."""
    value = lookup(name)
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(item).strip() for item in items if str(item).strip()]


def pseudonym_key(purpose: str) -> bytes:
    """The pseudonyms' key; `purpose` says in the error what needs it."""
    value = lookup("pseudonym_key", secret=True)
    if value is None:
        raise ConfigError(
            f"LMS_PSEUDONYM_KEY not set, and {purpose} needs it (environment, or pseudonym_key under [privacy]"
            " in .dlt/secrets.toml): a random secret of at least 16 characters, kept the same across runs"
        )
    if not isinstance(value, str):
        raise ConfigError("privacy.pseudonym_key must be text in quotes (pseudonym_key = \"...\")")
    if len(value) < MIN_KEY_LENGTH:
        raise ConfigError(f"LMS_PSEUDONYM_KEY is too short: at least {MIN_KEY_LENGTH} characters")
    return value.encode("utf-8")


def pseudonymised_reporting() -> bool:
    return flag("pseudonymised_reporting")


def pseudonymised_readers() -> list[str]:
    return names("pseudonymised_readers")
