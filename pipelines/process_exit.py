"""End the command's process without the interpreter's teardown.

After a command returns, the interpreter's own exit frees every module and object one by one: about
0.3 s after a run, an eighth of an hourly light run's own time (docs/benchmarks.md, "Fixed cost per
run"). Nothing the command wrote depends on that teardown. `exit_now` takes the ordinary exit (threads
that are not daemons are waited for, every exit handler runs: dlt's, `weakref.finalize` clean-ups such as
temporary folders), and the handler registered here runs last, since this module is imported before the
libraries (first thing in pipelines/__init__.py): it flushes the log handlers and the standard streams,
then ends the process with the command's status before the teardown starts. A process that never calls
exit_now (the tests, Dagster) ends as usual.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from typing import NoReturn

# Python's own status when flushing the standard streams at exit fails (a closed pipe, say)
FLUSH_FAILED = 120

_status: list[int] = []  # set by exit_now: only a command that asked ends early


def _end_before_teardown() -> None:
    if not _status:
        return
    code = _status[0]
    logging.shutdown()  # logging's own handler was registered before this one, so it would run after it
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or FLUSH_FAILED
    os._exit(code)


atexit.register(_end_before_teardown)  # handlers run last-registered first: this one after the libraries'


def exit_now(code: int) -> NoReturn:
    """Exit with `code` the ordinary way, minus the interpreter's teardown (see the module's docstring)."""
    _status[:] = [code]
    sys.exit(code)
