"""History wanted but not loaded: the targets a request added or widened that no run has fetched yet.

A target is what `missing_gaps` would fetch from its start: the earliest start any request asked for,
not before the symbol's list date nor before the oldest day the plan serves (`plan_limits`), so a
horizon the plan can never reach is not wanted at all. It is short when a session of that window lies
before the window already requested (or nothing was requested yet). Only active symbols count:
delisted ones keep the history they had.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import Timespan
from tickstock_pipelines.loading.plan_limits import known_limit
from tickstock_pipelines.market_calendar import sessions_between

_TARGETS = sa.text(
    "SELECT c.symbol, c.timespan, GREATEST(c.start_date, COALESCE(s.list_date, DATE '1900-01-01')), "
    "       c.loaded_start "
    "  FROM coverage_targets c JOIN symbols s ON s.symbol = c.symbol AND s.active "
    " ORDER BY c.timespan, c.symbol")


@dataclass(frozen=True)
class Short:
    """One symbol's history of one timespan wanted from `start` and not loaded as far back."""

    symbol: str
    timespan: Timespan
    start: date  # the first day wanted (within the plan)


def short_targets(conn: sa.Connection, end: date) -> list[Short]:
    """Every active symbol's target whose wanted window starts with sessions not yet requested."""
    limits = {t: known_limit(conn, t) for t in ("day", "minute")}
    short: list[Short] = []
    for symbol, timespan, start, loaded_start in conn.execute(_TARGETS).all():
        limit = limits["minute" if timespan == "minute" else "day"]
        if limit is not None:
            start = max(start, limit.oldest)
        last = end if loaded_start is None else min(end, loaded_start - timedelta(days=1))
        if start <= last and len(sessions_between(start, last)):
            short.append(Short(symbol, "minute" if timespan == "minute" else "day", start))
    return short
