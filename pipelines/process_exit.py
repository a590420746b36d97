"""End the command's process without the interpreter's teardown.

After a command returns, the interpreter's own exit frees every module and object one by one: about
0.3 s after a run, an eighth of an hourly light run's own time (docs/benchmarks.md, "Fixed cost per
run"). Nothing the command wrote depends on that teardown: the exit handlers still run (dlt's, and
`weakref.finalize` clean-ups such as temporary folders), the log handlers and the standard streams are
flushed, and only then does the process end. When a thread that is not a daemon is still running (a
library's writer, say), the ordinary exit is taken, which waits for it.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
from typing import NoReturn

# Python's own status when flushing the standard streams at exit fails (a closed pipe, say)
FLUSH_FAILED = 120


def exit_now(code: int) -> NoReturn:
    """Exit with `code` once the exit handlers have run and the output is flushed (see the module's docstring)."""
    others = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if others:
        sys.exit(code)
    logging.shutdown()
    atexit._run_exitfuncs()  # what the ordinary exit runs first; errors are printed and skipped there too
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or FLUSH_FAILED
    os._exit(code)
