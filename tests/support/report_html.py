"""What the report's HTML shows, read back by the report tests."""

from __future__ import annotations

import re


def headline_cards(html: str) -> dict[str, tuple[str, str]]:
    """Each headline card's label -> (its value, its tone: "good", "bad" or "")."""
    found = re.findall(r'<div class="card ?([a-z]*)"><div class="value">([^<]*)</div><div class="label">([^<]*)</div>', html)
    return {label: (value, tone) for tone, value, label in found}
