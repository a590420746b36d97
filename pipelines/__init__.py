"""lms-warehouse pipelines: the LearnUpon dlt source, its API client, and the simulated portal."""

import os

# dlt reports usage to its vendor by default; a warehouse of staff training data sends nothing anywhere
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# dlt's own log: errors only unless asked (`lms-warehouse -v`); its schema-hint notices repeat per page
os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")

# first of the package's imports: its exit handler must run after those of every library imported later
from . import process_exit  # noqa: E402, F401

from .malloc import limit_malloc_arenas, return_deltalake_memory_at_once  # noqa: E402  (before any worker thread starts)

limit_malloc_arenas()
return_deltalake_memory_at_once()
