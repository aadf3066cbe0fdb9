"""Progress lines with an ETA for long loads, at most one every few seconds."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    def __init__(self, what: str, total: int, log: Callable[[str], None],
                 every_seconds: float = 10.0) -> None:
        self.what, self.total, self.log, self.every = what, total, log, every_seconds
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total or self.total
        now = time.monotonic()
        if done < total and now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.started
        eta = elapsed / done * (total - done) if done else float("nan")
        self.log(f"{self.what}: {done}/{total} ({done / max(total, 1):.0%}), "
                 f"{elapsed:.0f}s elapsed, ETA {_duration(eta)}")


def _duration(seconds: float) -> str:
    if seconds != seconds:  # NaN: nothing done yet
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
