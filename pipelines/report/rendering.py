"""The compliance report's pages rendered from its figures: Jinja2 templates and the stylesheet in templates/.

Colours carry meaning: a compliance rate is green only at or above LMS_REPORT_GOOD_RATE (default
0.9), amber at or above LMS_REPORT_WARN_RATE (default 0.7), red below.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from importlib import resources
from typing import Any

import jinja2

from ..learnupon.errors import ConfigError
from .figures import ATTENDANCE, STATES, VERDICTS, ReportData

GOOD_RATE_ENV, WARN_RATE_ENV = "LMS_REPORT_GOOD_RATE", "LMS_REPORT_WARN_RATE"
TEMPLATES = "templates"  # the folder of this package that holds the templates and report.css


def rate_thresholds() -> tuple[float, float]:
    """(good, warn): shares at or above which a compliance rate shows green, amber."""
    values = []
    for name, default in ((GOOD_RATE_ENV, 0.9), (WARN_RATE_ENV, 0.7)):
        raw = os.environ.get(name)
        try:
            value = float(raw) if raw else default
        except ValueError:
            raise ConfigError(f"{name} must be a share between 0 and 1, got {raw!r}") from None
        if not 0 <= value <= 1:
            raise ConfigError(f"{name} must be a share between 0 and 1, got {raw!r}")
        values.append(value)
    good, warn = values
    if warn > good:
        raise ConfigError(f"{WARN_RATE_ENV} ({warn}) must not be above {GOOD_RATE_ENV} ({good})")
    return good, warn


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, TEMPLATES),
        autoescape=True,  # every portal text is escaped
        extensions=["jinja2.ext.do"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = _number
    env.filters["percent"] = lambda v: "n/a" if v is None else f"{v * 100:.1f}%"
    env.filters["cell"] = lambda v: "" if v is None else str(v)
    return env


def _number(value: Any) -> str:
    if value is None:
        return ""
    value = float(value)
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


def _context(data: ReportData, thresholds: tuple[float, float] | None) -> dict[str, Any]:
    good, warn = thresholds or rate_thresholds()

    def tone(rate: float | None) -> str:
        if rate is None:
            return ""
        return "good" if rate >= good else "warn" if rate >= warn else "bad"

    def share(part: float, whole: float) -> float:
        return 100.0 * part / whole if whole else 0.0

    return dict(
        data=data,
        h=data.headline,
        states=STATES,
        attendance=ATTENDANCE,
        verdicts=VERDICTS,
        good=good,
        warn=warn,
        tone=tone,
        share=share,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        css=resources.files(__package__).joinpath(TEMPLATES, "report.css").read_text(encoding="utf-8"),
    )


def render(data: ReportData, thresholds: tuple[float, float] | None = None, folder: str = "compliance_report_files") -> str:
    """The main page; `folder` is where its group, manager and list pages are (relative to it)."""
    return _environment().get_template("report.html.j2").render(folder=folder, **_context(data, thresholds))


def render_pages(data: ReportData, main: str, thresholds: tuple[float, float] | None = None) -> dict[str, str]:
    """{file name: content} for the folder beside the main page `main`: a page per group, per manager and per
    page of the overdue list, and the overdue list's complete CSV."""
    context = {**_context(data, thresholds), "main": main}
    template = _environment().get_template("person.html.j2")
    pages = {f"{s.slug}.html": template.render(section=s, page=None, **context) for s in [*data.groups, *data.managers]}
    for page in data.overdue_pages:
        pages[page.file_name] = template.render(section=None, page=page, **context)
    if data.overdue is not None:
        pages[f"{data.overdue.name}.csv"] = data.overdue.csv_text
    return pages
