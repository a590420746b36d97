"""The HTML compliance report.

figures.py    what the report shows (tables, counts, sections, pages) and the labels of each state
reading.py    the figures read from the marts and the run records
rendering.py  the pages rendered from the figures (Jinja2 templates and the stylesheet in templates/)
writing.py    the report written beside the warehouse, its pages swapped in whole
"""

from .figures import ReportData, portal_slug
from .reading import collect, question_label
from .rendering import rate_thresholds, render, render_pages
from .writing import pages_folder, write_report

__all__ = ["ReportData", "collect", "pages_folder", "portal_slug", "question_label", "rate_thresholds", "render", "render_pages", "write_report"]
