"""Run per-item API work (per course, per exam, per session) on a few threads.

Results stream back through a bounded queue, so memory stays flat however many
items there are; the client's rate limiter decides how fast calls really go.
The first error in any worker stops the others and is raised to the caller.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def fan_out(items: Iterable[T], task: Callable[[T], Iterable[R]], workers: int) -> Iterator[R]:
    """Yield everything `task(item)` yields, for every item, computed on `workers` threads."""
    workers = max(1, workers)
    source = iter(items)
    source_lock = threading.Lock()
    results: queue.Queue[Any] = queue.Queue(maxsize=workers * 2)
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                results.put(value, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            while not stop.is_set():
                with source_lock:
                    item = next(source, _DONE)
                if item is _DONE:
                    return
                for result in task(item):
                    if not put(result):
                        return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put(_Failure(exc))
        finally:
            put(_DONE)

    threads = [threading.Thread(target=work, name=f"fanout-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    finished = 0
    try:
        while finished < workers:
            value = results.get()
            if value is _DONE:
                finished += 1
            elif isinstance(value, _Failure):
                raise value.exc
            else:
                yield value
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)



def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """Yield what `items` yields, produced on a thread of its own a couple of items ahead.

    For a listing that must be paged in order (the next page is asked for only once the
    current one says there is one): the next call is in flight while the caller converts
    the current page, so a sequential listing is not slowed by the work done on each page.
    No call is made that plain paging would not make. (A fan-out of one item on one worker.)
    """
    return fan_out([items], iter, workers=1)
