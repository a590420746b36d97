"""SIGINT and SIGTERM: stop within seconds, keep what is committed, exit 130 or 143.

Outside dlt's normalize and load steps our handler raises `Interrupted` in the main thread
(a BaseException, so no `except Exception` of a resource swallows it, and the extract
stops where it is: nothing it read is committed, the next run reads it again). Inside
those steps dlt's own handler takes over: it lets the running load jobs finish (each
commits or not as a whole) and raises `SignalReceivedException`; a second signal stops
at once. Either way the committed loads stay and the next run resumes the rest.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from dlt.common.exceptions import SignalReceivedException

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by a signal. A KeyboardInterrupt (not an Exception), so no `except Exception`
    swallows it and libraries stop as on Ctrl-C: dbt cancels its running queries and joins its threads."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")


# signals received within `stop_on_signals`: a library that catches every exception (dbt turns
# one raised in a model into that model's failure) cannot hide that the command was stopped
_received: list[int] = []


def last_signal() -> int | None:
    """The last SIGINT or SIGTERM received within the current or last `stop_on_signals` block."""
    return _received[-1] if _received else None


@contextmanager
def stop_on_signals(announce: bool = False, on_signal: Callable[[], None] | None = None) -> Iterator[None]:
    """Within the block, SIGINT and SIGTERM raise Interrupted in the main thread. `announce`: say so on stderr at
    once (a run's progress goes there: the operator sees the stop begin, not only its end). `on_signal`: called
    first, in the handler (the API client's gate: the other threads start no call from then on)."""

    def handler(signum: int, frame: Any) -> None:
        _received.append(signum)
        if on_signal is not None:
            on_signal()
        if announce:  # os.write: the handler may run inside a write to sys.stderr, whose buffer is not reentrant
            os.write(2, f"lms-warehouse: {signal.Signals(signum).name} received; stopping: the calls in flight"
                        " finish, no new call starts\n".encode())
        raise Interrupted(signum)

    _received.clear()
    previous = {sig: signal.signal(sig, handler) for sig in HANDLED}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def signal_of(exc: BaseException) -> int | None:
    """The signal that stopped a run, found through dlt's wrappers; None if a signal did not."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, Interrupted):
            return seen.signum
        if isinstance(seen, SignalReceivedException):
            return int(seen.signal_code)
        if isinstance(seen, KeyboardInterrupt):
            return int(signal.SIGINT)
        seen = getattr(seen, "exception", None) or seen.__cause__ or seen.__context__
    return None


def exit_code(signum: int) -> int:
    return 128 + signum
