"""What a daily load received and what it still owes, by symbol and session.

A session counts as loaded for a symbol only when its bar arrived, or when a per-symbol aggregates answer
covering it had no bar (no trade), or when it precedes the symbol's list date (loading/listing.py: nothing
trades before its listing). Everything else a run wanted is named here, with the reason, and stays
outside the symbol's coverage window so that the next load asks for it again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tickstock_pipelines.loading.coverage import Gap
from tickstock_pipelines.market_calendar import session_positions, sessions
from tickstock_pipelines.resources.polygon import PolygonError, PolygonHTTPError

REASON_CHARS = 200
GIVE_UP_AFTER = 5  # consecutive failed requests, none succeeded yet: the API is down, stop asking


@dataclass(frozen=True)
class NotFetched:
    """Sessions first..last of `symbol` that the run wanted and did not receive, and why."""

    symbol: str
    first: date
    last: date
    reason: str

    @property
    def sessions(self) -> str:
        return self.first.isoformat() if self.first == self.last else f"{self.first}..{self.last}"

    def __str__(self) -> str:
        return f"{self.symbol} {self.sessions} ({self.reason})"


def isolate(exc: PolygonError) -> PolygonError:
    """`exc` if it belongs to its own symbol or session; re-raised if it concerns the whole run: the plan's
    timeframe 403 is the plan's edge (loading/plan_limits.py learns it and fetches again within it), and
    its end-of-day 403 holds back the newest session (plan_limits.py leaves it for the next run)."""
    from tickstock_pipelines.loading.plan_limits import is_not_yet_available, is_timeframe_limit

    if is_timeframe_limit(exc) or is_not_yet_available(exc):
        raise exc
    return exc


def reason(exc: PolygonError) -> str:
    """The client's error (already redacted) in one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 3] + "..."


def retryable(exc: PolygonError) -> bool:
    """A 4xx (bad key, plan limit, bad parameters) fails the same way for any other request shape."""
    return not isinstance(exc, PolygonHTTPError)


def session_runs(first: date, last: date, excluded: Iterable[date] = ()) -> list[tuple[date, date]]:
    """The runs of consecutive sessions in first..last that are not in `excluded`."""
    cut_days = [d for d in excluded if first <= d <= last]
    positions = session_positions()
    if not cut_days and first in positions and last in positions:  # the common case, without numpy
        return [(first, last)] if first <= last else []
    dates = sessions().dates
    lo = int(np.searchsorted(dates, np.datetime64(first, "D"), side="left"))
    hi = int(np.searchsorted(dates, np.datetime64(last, "D"), side="right"))
    cuts = sorted({int(np.searchsorted(dates, np.datetime64(d, "D")))
                   for d in cut_days})
    runs, start = [], lo
    for cut in [*cuts, hi]:
        if cut > start:
            runs.append((dates[start].astype(object), dates[cut - 1].astype(object)))
        start = cut + 1
    return runs


def received_spans(gap: Gap, upto: date, excluded: Iterable[date]) -> list[Gap]:
    """The parts of `gap` up to `upto` whose sessions were all received (for `mark_loaded`)."""
    if gap.first > upto:
        return []
    return [Gap(gap.symbol, a, b) for a, b in session_runs(gap.first, min(gap.last, upto), excluded)]


def not_fetched(symbol: str, days: Iterable[date], why: str) -> list[NotFetched]:
    """Sessions of one symbol, grouped into runs of consecutive sessions."""
    dates = sessions().dates
    indices = sorted({int(np.searchsorted(dates, np.datetime64(d, "D"))) for d in days})
    out: list[NotFetched] = []
    for i, index in enumerate(indices):
        if i and index == indices[i - 1] + 1:
            out[-1] = NotFetched(symbol, out[-1].first, dates[index].astype(object), why)
        else:
            day = dates[index].astype(object)
            out.append(NotFetched(symbol, day, day, why))
    return out


def failed_symbols(owed: Iterable[NotFetched]) -> dict[str, str]:
    """Each symbol still owed something, with the first reason (for the CLI's "failed" line)."""
    out: dict[str, str] = {}
    for item in owed:
        out.setdefault(item.symbol, item.reason)
    return dict(sorted(out.items()))


def owed_json(owed: Iterable[NotFetched]) -> dict[str, Any]:
    """{symbol: {"sessions": ["2026-11-02..2026-11-30", …], "reason": …}} for run metadata."""
    out: dict[str, dict[str, Any]] = {}
    for item in sorted(owed, key=lambda o: (o.symbol, o.first)):
        entry = out.setdefault(item.symbol, {"sessions": [], "reason": item.reason})
        entry["sessions"].append(item.sessions)
    return out


class GiveUp:
    """Stops sending once the first GIVE_UP_AFTER requests of a run all failed: every later one would
    spend its retries the same way. One success keeps the run going to the end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.failures, self.succeeded, self.why = 0, False, ""

    @property
    def tripped(self) -> bool:
        return not self.succeeded and self.failures >= GIVE_UP_AFTER

    def reason(self) -> str:
        return f"not asked: the run's first {GIVE_UP_AFTER} requests all failed ({self.why})"

    def record(self, error: str | None) -> None:
        with self._lock:
            if error is None:
                self.succeeded = True
            elif not self.succeeded:
                self.failures += 1
                self.why = self.why or error
