"""Timing helpers of the client benchmark: variants taking turns call by call, quantiles, one timed run."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved(variants: dict[str, Callable[[], object]], seconds: float) -> dict[str, list[float]]:
    """Seconds each call took, the variants taking turns request by request for `seconds`: load from
    elsewhere on the machine then falls on all of them alike."""
    latencies: dict[str, list[float]] = {name: [] for name in variants}
    clock = time.perf_counter
    deadline = clock() + seconds
    while clock() < deadline:
        for name, call in variants.items():
            started = clock()
            call()
            latencies[name].append(clock() - started)
    return latencies


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def timed(run: Callable[[], tuple[int, int]]) -> tuple[float, int, int]:
    started = time.perf_counter()
    items, calls = run()
    return time.perf_counter() - started, items, calls
