"""Requests in flight at once, results in order: latency overlaps while the shared budget sets the pace."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """`fn` over `items` on `workers` threads, yielded in input order, at most 2 × workers ahead.

    The window keeps memory bounded when the consumer (the database writes) is slower than the API.
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    source = iter(items)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="polygon")
    pending: deque[Future[R]] = deque()
    try:
        for item in source:
            pending.append(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                break
        while pending:
            result = pending.popleft().result()
            for item in source:
                pending.append(pool.submit(fn, item))
                break
            yield result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
