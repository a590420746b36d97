"""What the compliance report shows: its tables, counts, sections and pages, and the labels of each state.

The marts are read into these (reading.py) and rendered from them (rendering.py).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

STATES = [
    ("compliant", "Compliant"),
    ("due_soon", "Due within 30 days"),
    ("overdue", "Overdue"),
    ("expired", "Certificate expired"),
    ("not_started", "Not started"),
]
VERDICTS = [("passed", "Passed"), ("failed", "Failed"), ("no_verdict", "No verdict yet")]
ATTENDANCE = [("present", "Present"), ("absent", "Absent"), ("no_show", "No-show"), ("unmarked", "Not marked yet")]
OVERDUE_BUCKETS = ("1-30", "31-60", "61-90", "90+")
GOOD_RATE_ENV, WARN_RATE_ENV = "LMS_REPORT_GOOD_RATE", "LMS_REPORT_WARN_RATE"
PAGE_ROWS = 500  # rows of the overdue list per page; the main page shows the first page


@dataclass
class Table:
    """A table shown in the report, with its CSV download."""

    name: str  # file name of the download, without .csv
    columns: list[str]
    rows: list[tuple[Any, ...]]
    numeric: set[int] = field(default_factory=set)  # column positions aligned right

    @property
    def csv_text(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(self.columns)
        writer.writerows(["" if v is None else v for v in row] for row in self.rows)
        return buffer.getvalue()

    @property
    def csv_href(self) -> str:
        return "data:text/csv;charset=utf-8," + quote(self.csv_text)


@dataclass
class Counts:
    """Required trainings (learner x course family) by compliance state, and the share compliant."""

    by_state: dict[str, int] = field(default_factory=dict)

    @property
    def required(self) -> int:
        return sum(self.by_state.values())

    @property
    def compliant(self) -> int:
        return self.by_state.get("compliant", 0)

    @property
    def rate(self) -> float | None:
        return self.compliant / self.required if self.required else None


@dataclass
class Section:
    """A group's or a manager's people on a page of their own: their figures and their open required training.

    counts: every training required of the people (whichever group requires it);
    own_counts (groups only): the training the group itself requires of its members.
    """

    kind: str  # group or manager
    key: Any  # group id or manager user id
    title: str
    subtitle: str
    counts: Counts
    table: Table
    own_counts: Counts | None = None
    portal: str | None = None  # its portal, when the report shows several (ids repeat across portals)

    @property
    def slug(self) -> str:
        return f"{self.kind}-{portal_slug(self.portal)}-{self.key}" if self.portal else f"{self.kind}-{self.key}"


def portal_slug(portal: str) -> str:
    """A portal's name as part of a file name or an anchor."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", portal)


@dataclass
class Page:
    """A page of a long list, in the folder beside the main file."""

    number: int
    of: int
    first_row: int  # its first row's position in the whole list, from 1
    table: Table

    @property
    def file_name(self) -> str:
        return f"overdue-{self.number}.html"


REALM_LABEL = "All portals"
# the portals table's columns: headline figures by key
PORTAL_COLUMNS = [
    ("learners", "Learners with required training"), ("required", "Required trainings"), ("compliant", "Compliant"),
    ("overdue", "Overdue"), ("due_soon", "Due within 30 days"), ("certificates_expired", "Certificates expired"),
    ("certificates_30_days", "Certificates expiring in 30 days"),
    ("inactive_with_open_training", "Inactive learners with open training"), ("no_shows", "Session no-shows"),
]

HEADLINE_KEYS = (
    "required", "learners", *[state for state, _ in STATES], "certificates_expired", "certificates_30_days",
    "inactive_with_open_training", "no_shows",
)


def empty_headline() -> dict[str, Any]:
    return {"compliance_rate": None, **dict.fromkeys(HEADLINE_KEYS, 0)}


def realm_headline(per_portal: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The realm's headline figures: each count summed over the portals, the rate of the sums."""
    total = empty_headline()
    for figures in per_portal.values():
        for key in HEADLINE_KEYS:
            total[key] += figures.get(key, 0)
    total["compliance_rate"] = total["compliant"] / total["required"] if total["required"] else None
    return total


@dataclass
class ReportData:
    as_of: date
    headline: dict[str, Any] = field(default_factory=empty_headline)  # the realm's (every portal shown, summed)
    portal: str | None = None  # the one portal the report is for (--portal); None: every portal in the warehouse
    portals: list[str] = field(default_factory=list)  # the portals shown
    by_portal: dict[str, dict[str, Any]] = field(default_factory=dict)  # each portal's headline figures
    missing: set[str] = field(default_factory=set)
    last_load: datetime | None = None
    stale: list[dict[str, Any]] = field(default_factory=list)
    trend: list[tuple[str, float | None, int]] = field(default_factory=list)  # (label, rate, required)
    by_group: list[tuple[str, dict[str, float]]] = field(default_factory=list)  # the group's own required training
    ageing: list[tuple[str, float]] = field(default_factory=list)
    expiring: list[tuple[str, float]] = field(default_factory=list)
    hardest: list[tuple[str, float, str]] = field(default_factory=list)
    exams: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # the portal's verdicts per exam
    verdicts_below_threshold: int = 0  # passes the portal gives below the exam's threshold, and the reverse
    sessions: list[tuple[str, dict[str, float]]] = field(default_factory=list)
    overdue: Table | None = None  # every row; the pages below split it
    overdue_pages: list[Page] = field(default_factory=list)
    groups: list[Section] = field(default_factory=list)
    managers: list[Section] = field(default_factory=list)
    audit_gaps: list[tuple[Any, ...]] = field(default_factory=list)  # (start, end, days, portal)

    @property
    def several_portals(self) -> bool:
        """The figures span several portals: their rows and sections name their portal."""
        return len(self.portals) > 1

    @property
    def portal_table(self) -> Table:
        """Each portal's headline figures, then the realm's (their sums), as a table with its CSV."""
        rows = []
        for name, figures in [*sorted(self.by_portal.items()), (REALM_LABEL, self.headline)]:
            rate = figures["compliance_rate"]
            rows.append((name, *(figures[key] for key, _ in PORTAL_COLUMNS), "n/a" if rate is None else f"{rate * 100:.1f}%"))
        columns = ["Portal", *(label for _, label in PORTAL_COLUMNS), "Compliance rate"]
        return Table("portal_figures", columns, rows, numeric=set(range(1, len(columns))))

    def labelled(self, portal: str | None, text: str) -> str:
        """A row's label, with its portal when the report shows several."""
        return f"{portal}: {text}" if self.several_portals and portal else text
