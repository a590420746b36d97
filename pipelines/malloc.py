"""Keep the process's resident memory flat on glibc (and give back Arrow's, glibc's and deltalake's free memory).

glibc gives each thread that allocates its own heap arena (64 MiB apiece, up to
eight per core). The fan-out threads each parse whole pages of JSON, so several
arenas fill up and stay resident long after the pages are freed. Two arenas keep
the footprint of a million-enrollment run close to that of a small one, at no
measurable cost in speed. MALLOC_ARENA_MAX in the environment wins over this.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2
# deltalake's Rust library has a jemalloc of its own (not glibc's: malloc_trim cannot reach it), which keeps
# freed pages for seconds; given back at once, a million-enrollment Delta run's peak fell from 1,175 to 883 MiB
# (its incremental load 6 s slower: docs/benchmarks.md, "Delta's load loop"). The environment wins over this.
DELTALAKE_JEMALLOC = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:0,muzzy_decay_ms:0")


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc for at most `arenas` heaps; False where that does not apply (not glibc, or set already)."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False


def return_deltalake_memory_at_once() -> None:
    """Ask deltalake's jemalloc to hand freed pages back at once; read when that library loads, so before it is imported."""
    name, value = DELTALAKE_JEMALLOC
    os.environ.setdefault(name, value)


def release_free_memory() -> None:
    """Hand memory the process has freed back to the system: Arrow's pool, then glibc's heaps.

    Between the steps after a Delta load: each step's Arrow buffers and merge state are freed when it
    ends, but the allocators keep the pages, so the next step's peak would sit on top of the last one's.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass
