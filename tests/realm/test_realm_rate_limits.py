"""Each portal at its own rate limit: two portals loaded in one run, one whose minute budget another integration
has just spent, one with no binding limit.

"The rate limits apply per portal, rather than per realm" (the API reference): the spent portal's 429s are its
own (counted exactly as its portal answered them, on its own summary line and in its own `pipeline_runs` row),
its run waits for the next minute and completes; the other portal meets no 429 and no wait, and loads whole.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import httpx

from pipelines.learnupon.context import ExtractContext
from pipelines.run.portals import run_portals
from pipelines.run.runner import Warehouse
from pipelines.run.summary import print_portals_summary

from tests.conftest import CORE_RESOURCES, query
from tests.support.events import wait_until
from tests.support.realm_runs import portal_contexts, unknown_problems

SPENT, OPEN = "spent", "open"
LIMIT = 60  # calls a minute on the spent portal: more than its run needs, so it waits one minute at most
# the spent portal's "minute" (the client is given the portal's window: tests/conftest.py client_of): a spent budget
# refills in seconds rather than at the next calendar minute, and is still far longer than spending it takes
WINDOW = 20


def _spend_the_minute(portal: Any) -> int:
    """Another integration on the same portal spends what is left of this minute's budget: call until a 429.

    The portal's window is aligned like the calendar minute (the reference: "for the current minute of the day"),
    so near its end this waits for the next one first: the run's first call must fall in the minute that was spent."""
    wait_until(lambda: time.time() % WINDOW < WINDOW / 4, "a minute with 15 s left in it")
    with httpx.Client(auth=(portal.config.username, portal.config.password), timeout=60) as http:
        for refused in range(1, LIMIT + 2):
            if http.get(portal.base_url + "/courses").status_code == 429:
                return refused  # this many calls made, the last one refused
    raise AssertionError(f"no 429 after {LIMIT + 1} calls: the portal's limit is not {LIMIT} a minute")


def test_each_portal_is_paced_by_its_own_rate_limit_and_counts_its_own_429s(portal_factory: Any, tmp_path: Path) -> None:
    portals = {SPENT: portal_factory(users=30, seed=14, rate_per_minute=LIMIT, rate_window_seconds=WINDOW),
               OPEN: portal_factory(users=30, seed=13)}
    neighbour_429s = 0

    def on_start(context: ExtractContext) -> None:
        nonlocal neighbour_429s
        if context.portal_name == SPENT:  # just before this portal's first call: its minute is spent
            _spend_the_minute(portals[SPENT])
            neighbour_429s = portals[SPENT].limiter.throttled

    warehouse = Warehouse(out_dir=tmp_path)
    outcomes = run_portals(portal_contexts(portals), warehouse, CORE_RESOURCES, on_start=on_start)
    assert [(o.portal, o.failed) for o in outcomes] == [(SPENT, False), (OPEN, False)], [o.error for o in outcomes]
    spent, open_ = (o.summary for o in outcomes)

    # the spent portal: every 429 its portal refused the run is counted on it, and the run waited for the next minute
    refused_to_the_run = portals[SPENT].limiter.throttled - neighbour_429s
    assert spent.api["http_429"] == refused_to_the_run >= 1
    assert spent.rate_limit["throttle_waits"] >= 1
    # the other portal: its own limit never bound, so neither a 429 nor a wait, and its calls are its portal's
    assert portals[OPEN].limiter.throttled == 0
    assert open_.api["http_429"] == 0 and not open_.rate_limit.get("throttle_waits")
    assert open_.api["calls"] == sum(portals[OPEN].calls.values())
    for name in portals:  # both loaded whole: each portal's core tables equal its own ground truth
        problems = unknown_problems(tmp_path, portals[name], name, "default", "full")
        assert {table: problems[table] for table in CORE_RESOURCES if table in problems} == {}, name

    out = io.StringIO()
    print_portals_summary(outcomes, warehouse, 1.0, out=out)
    lines = {name: next(line for line in out.getvalue().splitlines() if line.startswith(f"  portal {name}:")) for name in portals}
    assert re.search(rf"{spent.api['calls']:,} API calls \(429s: {refused_to_the_run}, retries: \d+, \d+ waits? for the next minute's budget\)",
                     lines[SPENT]), lines[SPENT]
    assert f"{open_.api['calls']:,} API calls (429s: 0, retries: 0)," in lines[OPEN], lines[OPEN]

    runs = query(tmp_path, "select portal, api_calls, http_429 from learnupon.pipeline_runs order by portal")
    assert runs == [{"portal": OPEN, "api_calls": open_.api["calls"], "http_429": 0},
                    {"portal": SPENT, "api_calls": spent.api["calls"], "http_429": refused_to_the_run}]
