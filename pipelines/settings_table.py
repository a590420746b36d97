"""The README's table of settings, generated from the spec: `python -m pipelines.settings_table` prints it
(tests/run/test_settings_spec.py checks the README's copy is current)."""

from __future__ import annotations

import sys

from .learnupon.settings_spec import SETTINGS


def settings_table() -> str:
    """The README's table of settings, one row per setting."""
    rows = [
        "| environment variable | `run` flag | Dagster config (`resources.learnupon.config`) | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        flag = f"`{s.flag}`" if s.flag else "none (secret)"
        if s.flag and s.kind is bool:
            flag = f"`{s.flag}` / `--no-{s.flag[2:]}`"
        default_cell = "unset" if s.default is None else f"`{s.default_text}`"
        rows.append(f"| `{s.env}` | {flag} | `{s.name}` | {default_cell} | {s.help} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(settings_table())
