"""ordered_map: input order kept, a bounded number of calls ahead, the first error stops the rest."""

from __future__ import annotations

import threading
import time

import pytest

from tickstock_pipelines.loading.concurrency import ordered_map


def test_results_come_in_input_order_even_when_later_calls_finish_first() -> None:
    def slow_first(x: int) -> int:
        time.sleep(0.05 if x == 0 else 0.0)
        return x * 10

    assert list(ordered_map(slow_first, range(20), workers=4)) == [x * 10 for x in range(20)]


def test_at_most_twice_the_workers_run_ahead_of_the_consumer() -> None:
    started: list[int] = []
    lock = threading.Lock()

    def record(x: int) -> int:
        with lock:
            started.append(x)
        return x

    results = ordered_map(record, range(100), workers=3)
    assert next(results) == 0
    time.sleep(0.1)
    assert len(started) <= 2 * 3 + 1
    assert list(results) == list(range(1, 100))


def test_the_first_error_is_raised_and_nothing_after_the_window_starts() -> None:
    calls: list[int] = []

    def fail_at_five(x: int) -> int:
        calls.append(x)
        if x == 5:
            raise ValueError("boom at 5")
        return x

    with pytest.raises(ValueError, match="boom at 5"):
        list(ordered_map(fail_at_five, range(1000), workers=2))
    assert max(calls) < 5 + 2 * 2 + 1


def test_one_worker_is_a_plain_map() -> None:
    assert list(ordered_map(str, [1, 2, 3], workers=1)) == ["1", "2", "3"]
