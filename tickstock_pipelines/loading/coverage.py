"""What history each symbol should have and what was already asked for: the database is the loader's state.

`coverage_targets` holds, per symbol and timespan, the earliest start any load request asked for
(`start_date`) and the window already requested from the API (`loaded_start`..`loaded_end`). A run asks
only for the sessions outside that window, so re-running a load costs no call and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np
import sqlalchemy as sa

from tickstock_pipelines.market_calendar import session_positions, sessions, sessions_between

if TYPE_CHECKING:
    from tickstock_pipelines.loading.request import Resolved

Timespan = Literal["day", "minute"]
DEFAULT_HISTORY_DAYS = 365  # a symbol added without a request (UI, sensor) gets a year of history


@dataclass(frozen=True)
class Gap:
    """A run of missing sessions for one symbol, first..last inclusive (both are sessions)."""

    symbol: str
    first: date
    last: date


def record_request(conn: sa.Connection, request: Resolved, run_id: str | None) -> int:
    """Store the request and raise each symbol's target to the earliest start anyone asked for."""
    request_id = conn.execute(
        sa.text(
            "INSERT INTO load_requests (source, universe, symbols, timespan, start_date, priority, run_id) "
            "VALUES (:source, :universe, :symbols, :timespan, :start, :priority, :run_id) RETURNING id"
        ),
        {"source": request.source, "universe": request.universe, "symbols": list(request.symbols),
         "timespan": request.timespan, "start": request.start, "priority": request.priority,
         "run_id": run_id},
    ).scalar_one()
    set_targets(conn, request.symbols, request.timespan, request.start)
    return int(request_id)


def set_targets(conn: sa.Connection, symbols: Iterable[str], timespan: Timespan, start: date) -> None:
    """Targets only ever widen: a shorter request never drops history another request wanted."""
    conn.execute(
        sa.text(
            "INSERT INTO coverage_targets (symbol, timespan, start_date) "
            "SELECT s, :timespan, :start FROM unnest(CAST(:symbols AS text[])) AS s "
            "ON CONFLICT (symbol, timespan) DO UPDATE "
            "SET start_date = LEAST(coverage_targets.start_date, EXCLUDED.start_date), updated_at = now() "
            "WHERE EXCLUDED.start_date < coverage_targets.start_date"
        ),
        {"symbols": sorted(set(symbols)), "timespan": timespan, "start": start},
    )


def drop_targets(conn: sa.Connection, symbols: Sequence[str]) -> None:
    """Unknown tickers keep no target: nothing later would ever be able to load them."""
    conn.execute(sa.text("DELETE FROM coverage_targets WHERE symbol = ANY(:symbols)"),
                 {"symbols": list(symbols)})


def missing_gaps(conn: sa.Connection, symbols: Sequence[str], timespan: Timespan, end: date,
                 default_start: date | None = None) -> list[Gap]:
    """Session ranges to fetch per symbol: the target window minus the window already requested.

    Symbols without a target get `default_start` (DEFAULT_HISTORY_DAYS before `end` when None); active
    symbols are loaded from their list date at the earliest, and delisted ones (inactive with a delisting
    date) up to the last session before it: history without survivorship bias.
    """
    default_start = default_start or end - timedelta(days=DEFAULT_HISTORY_DAYS - 1)
    rows = conn.execute(
        sa.text(
            "SELECT s.symbol, GREATEST(COALESCE(c.start_date, :default_start), COALESCE(s.list_date, "
            "       DATE '1900-01-01')) AS start_date, c.loaded_start, c.loaded_end, "
            "       CASE WHEN s.active THEN NULL ELSE s.delisted_date - 1 END AS last_day "
            "  FROM symbols s LEFT JOIN coverage_targets c ON c.symbol = s.symbol AND c.timespan = :timespan "
            " WHERE s.symbol = ANY(:symbols) AND (s.active OR s.delisted_date IS NOT NULL) ORDER BY s.symbol"
        ),
        {"symbols": list(symbols), "timespan": timespan, "default_start": default_start},
    ).all()
    return [gap for symbol, start, loaded_start, loaded_end, last_day in rows
            for gap in window_gaps(symbol, start, min(end, last_day) if last_day else end,
                                   loaded_start, loaded_end)]


def window_gaps(symbol: str, start: date, stop: date, loaded_start: date | None,
                loaded_end: date | None) -> list[Gap]:
    """The sessions of start..stop outside the window already requested (at most two gaps); shared by
    `missing_gaps` and the load plan (loading/load_plan.py), so a dry run counts the gaps a run fetches."""
    if loaded_start is None or loaded_end is None or loaded_end < start or loaded_start > stop:
        windows = [(start, stop)]
    else:
        windows = [(start, loaded_start - timedelta(days=1)), (loaded_end + timedelta(days=1), stop)]
    gaps: list[Gap] = []
    for first, last in windows:
        days = sessions_between(first, last)
        if len(days):
            gaps.append(Gap(symbol, days[0].astype(object), days[-1].astype(object)))
    return gaps


def mark_loaded(conn: sa.Connection, gaps: Iterable[Gap], timespan: Timespan) -> None:
    """Widen each symbol's requested window by the session spans just received (same transaction as
    their bars).

    The window is one range, so it takes only spans that touch it (or touch each other): a span beyond a
    hole stays outside, and the next run asks for the hole and what follows it again (the upsert makes
    that harmless). A symbol without a window starts from its longest span.
    """
    received: dict[str, list[tuple[date, date]]] = {}
    for gap in gaps:
        received.setdefault(gap.symbol, []).append((gap.first, gap.last))
    if not received:
        return
    windows = {symbol: (lo, hi) for symbol, lo, hi in conn.execute(
        sa.text("SELECT symbol, loaded_start, loaded_end FROM coverage_targets "
                "WHERE symbol = ANY(:symbols) AND timespan = :timespan FOR UPDATE"),
        {"symbols": sorted(received), "timespan": timespan}).all() if lo is not None and hi is not None}
    spans: dict[str, tuple[date, date]] = {}
    for symbol, ranges in received.items():
        merged = widened(windows.get(symbol), ranges)
        if merged is not None and merged != windows.get(symbol):
            spans[symbol] = merged
    if not spans:
        return
    conn.execute(
        sa.text(
            "INSERT INTO coverage_targets AS c "
            "       (symbol, timespan, start_date, loaded_start, loaded_end, fetched_at) "
            "SELECT u.symbol, :timespan, u.lo, u.lo, u.hi, now() "
            "  FROM unnest(CAST(:symbols AS text[]), CAST(:los AS date[]), CAST(:his AS date[])) "
            "       AS u(symbol, lo, hi) "
            "ON CONFLICT (symbol, timespan) DO UPDATE SET "
            "  loaded_start = LEAST(COALESCE(c.loaded_start, EXCLUDED.loaded_start), EXCLUDED.loaded_start), "
            "  loaded_end = GREATEST(COALESCE(c.loaded_end, EXCLUDED.loaded_end), EXCLUDED.loaded_end), "
            "  start_date = LEAST(c.start_date, EXCLUDED.start_date), "
            # the oldest part of the window sets fetched_at: a split after it makes the window stale
            "  fetched_at = CASE WHEN c.loaded_start IS NULL THEN now() ELSE c.fetched_at END, "
            "  updated_at = now()"
        ),
        {"timespan": timespan, "symbols": list(spans), "los": [v[0] for v in spans.values()],
         "his": [v[1] for v in spans.values()]},
    )


Span = tuple[date, date]


def widened(window: Span | None, ranges: Iterable[Span]) -> Span | None:
    """`window` grown by every range that overlaps it or is next to it, session-wise (no session between)."""
    dates, positions = sessions().dates, session_positions()  # a session's index without a numpy search

    def first_index(day: date) -> int:
        at = positions.get(day)
        return at if at is not None else int(np.searchsorted(dates, np.datetime64(day, "D"), side="left"))

    def last_index(day: date) -> int:
        at = positions.get(day)
        return at if at is not None else int(np.searchsorted(dates, np.datetime64(day, "D"), "right")) - 1

    left = [(first_index(a), last_index(b), a, b) for a, b in ranges if a <= b]
    if window is None:
        if not left:
            return None
        best = max(left, key=lambda r: r[1] - r[0])
        left.remove(best)
        window = (best[2], best[3])
    lo, hi = window
    lo_i, hi_i = first_index(lo), last_index(hi)
    grown = True
    while grown:
        grown = False
        for item in list(left):
            a_i, b_i, a, b = item
            if a_i <= hi_i + 1 and b_i >= lo_i - 1:
                lo, hi = min(lo, a), max(hi, b)
                lo_i, hi_i = min(lo_i, a_i), max(hi_i, b_i)
                left.remove(item)
                grown = True
    return lo, hi


def forget_loaded(conn: sa.Connection, symbols: Sequence[str], timespan: Timespan = "day") -> None:
    """After a split the stored (adjusted) history is stale: the next run fetches the whole window again."""
    conn.execute(
        sa.text("UPDATE coverage_targets SET loaded_start = NULL, loaded_end = NULL, updated_at = now() "
                "WHERE symbol = ANY(:symbols) AND timespan = :timespan"),
        {"symbols": list(symbols), "timespan": timespan},
    )
