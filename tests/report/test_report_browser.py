"""The report in a real browser (Debian's headless Chromium) at 1400 px and 420 px, on a warehouse
loaded from the simulated portal: no horizontal overflow, every chart present and drawn, no
label cut or ellipsised. The same warehouse gets the whole `dbt build`, unit tests included.

Chromium is installed by the set-up when missing (apt-get, as root in CI); a browser that cannot
be had fails the test, it does not skip it. A headless window is at least 500 px wide, so the
report is shown in a frame exactly as wide as the screen under test. Screenshots go to
LMS_SCREENSHOT_DIR when set.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pipelines.models import build_models
from pipelines.report import write_report
from pipelines.run.runner import Warehouse

from pipelines.simulator import PortalConfig, SimulatedPortal

from tests.conftest import CLOCK, run_pipeline
from tests.support.events import CEILING_SECONDS

AS_OF = date(2026, 11, 2)
CHARTS = {"trend", "by-group", "ageing", "expiring", "hardest", "exams", "sessions"}

# runs inside the page once it has laid out; the report itself carries no script
PROBE = """<script>
(() => {
  const root = document.documentElement;
  const vw = root.clientWidth;
  const all = [...document.querySelectorAll('body *')];
  const wide = all.filter(e => e.getBoundingClientRect().right > vw + 1)
                  .map(e => e.tagName.toLowerCase() + '.' + e.className).slice(0, 10);
  const charts = [...document.querySelectorAll('figure.chart')].map(c => {
    const r = c.getBoundingClientRect();
    return {name: c.dataset.chart, width: r.width, height: r.height,
            marks: c.querySelectorAll('.seg, .col-bar').length};
  });
  const labels = [...document.querySelectorAll('.bar-label, .col-label, .bar-value, td, th, .card .label, h1, h2, h3')];
  const cut = labels.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim().slice(0, 60));
  const ellipsised = all.filter(e => getComputedStyle(e).textOverflow === 'ellipsis').length;
  // the contents: every link, and whether a link into this page lands on an element
  const contents = [...document.querySelectorAll('nav.contents a')].map(a => {
    const href = a.getAttribute('href');
    return {href, found: href.startsWith('#') ? !!document.getElementById(href.slice(1)) : null};
  });
  // the page sits in a frame of the width under test (headless windows are 500 px at least)
  window.parent.document.body.setAttribute('data-probe', JSON.stringify({
    vw, scroll: root.scrollWidth, wide, charts, cut, ellipsised, contents,
    ellipsis_chars: (document.body.innerText.match(/\\u2026/g) || []).length,
  }));
})();
</script>"""


def chromium() -> str:
    found = shutil.which("chromium")
    if found is None:  # a new machine does not have it: Debian's package (CI runs as root)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update"], check=True, capture_output=True, env=env, timeout=900)
        subprocess.run(["apt-get", "install", "-y", "chromium"], check=True, capture_output=True, env=env, timeout=1800)
        found = shutil.which("chromium")
    assert found, "Chromium is needed for this test and could not be installed (apt-get install chromium)"
    return found


def framed(page: Path, width: int) -> Path:
    """A page showing `page` in a frame `width` CSS pixels wide."""
    frame = page.with_name(f"frame-{width}-{page.name}")
    frame.write_text(
        '<!doctype html><html><body style="margin:0">'
        f'<iframe src="{page.name}" style="border:0;display:block;width:{width}px;height:2400px"></iframe>'
        "</body></html>",
        encoding="utf-8",
    )
    return frame


def browse(browser: str, page: Path, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        browser, "--headless", "--no-sandbox", "--disable-background-networking", "--disable-gpu",
        "--hide-scrollbars", "--disable-extensions", "--no-first-run", "--allow-file-access-from-files",
        f"--window-size={max(width, 500)},2400", *args, page.as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=CEILING_SECONDS)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("browser")
    with SimulatedPortal(PortalConfig(users=150, seed=7, page_size=100, clock=CLOCK)) as portal:
        run_pipeline(portal, out)  # every resource
    warehouse = Warehouse(out_dir=out)
    built = build_models(warehouse, as_of=AS_OF, unit_tests=True)
    return write_report(warehouse, out / "compliance_report.html", as_of=AS_OF, build=False), built


def test_the_demo_warehouse_passes_every_dbt_test_and_unit_test(report: tuple[Path, Any]) -> None:
    _, built = report
    assert built.skipped == {}
    unit = [t for t in built.tests if t.unique_id.startswith("unit_test.")]
    assert len(unit) >= 6 and len(built.tests) > 40
    assert [(t.name, t.status, t.message) for t in built.tests if t.status in ("fail", "error")] == []


def probe(browser: str, page: Path, width: int) -> dict[str, Any]:
    probed = page.with_name(f"probed-{page.name}")
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = browse(browser, framed(probed, width), width, "--dump-dom").stdout
    return json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1)))


def test_the_probe_sees_overflow_cut_labels_and_ellipses(tmp_path: Path) -> None:
    """The measurements below can fail: a fixed-width chart and a clipped label are caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><body>"
        '<figure class="chart" data-chart="fixed"><svg width="760" height="40"></svg></figure>'
        '<div class="bar-label" style="width: 60px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis">'
        "Anti-Bribery and Corruption: question 7</div></body></html>",
        encoding="utf-8",
    )
    found = probe(chromium(), page, 420)
    assert found["scroll"] > 420 and found["wide"]
    assert found["cut"] == ["Anti-Bribery and Corruption: question 7"]
    assert found["ellipsised"] == 1
    assert [c["marks"] for c in found["charts"]] == [0]


@pytest.mark.parametrize("width", [1400, 420])
def test_report_fits_the_screen_with_every_chart_and_whole_labels(report: tuple[Path, Any], width: int, tmp_path: Path) -> None:
    path, _ = report
    browser = chromium()
    page = tmp_path / "report.html"
    shutil.copy(path, page)
    found = probe(browser, page, width)

    assert found["vw"] == width
    assert found["scroll"] <= width, f"horizontal overflow: {found['wide']}"
    assert found["wide"] == []
    charts = {c["name"]: c for c in found["charts"]}
    assert CHARTS <= set(charts), sorted(charts)
    for name in CHARTS:
        chart = charts[name]
        assert 0 < chart["width"] <= width and chart["height"] > 20 and chart["marks"] > 0, chart
    assert found["cut"] == [], "labels cut off"
    assert found["ellipsised"] == 0 and found["ellipsis_chars"] == 0

    # a group's page beside it fits too
    group_page = sorted((path.parent / f"{path.stem}_files").glob("group-*.html"))[0]
    beside = probe(browser, group_page, width)
    assert beside["scroll"] <= width and beside["wide"] == [] and beside["cut"] == [], beside
    assert [c["marks"] > 0 for c in beside["charts"]] == [True]

    shots = Path(os.environ.get("LMS_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    shot = shots / f"report-{width}.png"
    browse(browser, framed(path, width), width, f"--screenshot={shot}")
    assert shot.stat().st_size > 10_000


def test_report_prints_to_a4(report: tuple[Path, Any], tmp_path: Path) -> None:
    path, _ = report
    pdf = tmp_path / "report.pdf"
    browse(chromium(), path, 1400, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_the_contents_links_resolve_to_sections(report: tuple[Path, Any], tmp_path: Path) -> None:
    """Every link of the contents lands on its section: in the page, or on a group's or manager's page beside it."""
    path, _ = report
    browser = chromium()
    found = probe(browser, path, 1400)
    links = [c["href"] for c in found["contents"]]
    in_page = [c for c in found["contents"] if c["href"].startswith("#")]
    assert len(in_page) >= 10 and all(c["found"] for c in in_page), in_page
    pages = [link for link in links if not link.startswith("#")]
    assert any("/group-" in link for link in pages) and any("/manager-" in link for link in pages)
    for link in pages:
        page, anchor = link.split("#")
        dom = browse(browser, path.parent / page, 1400, "--dump-dom").stdout
        assert re.search(rf'<section id="{re.escape(anchor)}"', dom), link
        assert f'href="../{path.name}#' in dom  # and back to the report
