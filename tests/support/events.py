"""Waiting for events, not for wall time: the suite must pass on a machine four times slower than ours.

`wait_until` polls a condition until it holds; its ceiling is only there so that a hung test ends
(generous: minutes, never the expected duration of anything). A process that ends before the
event fails the wait at once, with its output.

`held_answer` holds the simulated portal's answer to the n-th call of one endpoint, after the
portal handled it and before it replies, until the test lets go: a test acts (kills a client,
say) at that exact point of a run, whatever the machine's speed.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# how long a wait may last before the test is declared hung: far above any step of the default suite on a
# machine four times slower (a dbt build took over 10 minutes on our 2 cores at a load average of 35)
CEILING_SECONDS = 1200.0
POLL_SECONDS = 0.01


def wait_until(
    condition: Callable[[], Any],
    what: str,
    process: subprocess.Popen[Any] | None = None,
    ceiling: float = CEILING_SECONDS,
    log: Path | None = None,
) -> Any:
    """condition()'s first true value; fails if `process` ends first or the ceiling passes
    (with the end of `log`, the process's output file, if given)."""
    hung_at = time.monotonic() + ceiling
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            output = process.communicate() if process.stdout or process.stderr else _tail(log)
            raise AssertionError(f"the process ended (exit {process.returncode}) before {what}: {output}")
        if time.monotonic() > hung_at:
            raise AssertionError(f"hung: no {what} after {ceiling:.0f} s: {_tail(log)}")
        time.sleep(POLL_SECONDS)


def _tail(log: Path | None) -> str:
    return log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""


@contextmanager
def held_answer(portal: Any, template: str, nth: int) -> Iterator[threading.Event]:
    """While inside, the portal holds its reply to the nth `template` call (e.g. "POST /users");
    the event yielded is set once that call is handled (a write is applied) and its reply held.
    Leaving the block lets the reply go (to a client that may be gone)."""
    reached = threading.Event()
    release = threading.Event()
    count = portal.count_call  # the portal counts a call after handling it and before replying

    def count_and_hold(name: str) -> None:
        count(name)
        if name == template and portal.calls[name] == nth:
            reached.set()
            release.wait(CEILING_SECONDS)

    portal.count_call = count_and_hold
    try:
        yield reached
    finally:
        release.set()
        del portal.count_call  # the class's own method again
