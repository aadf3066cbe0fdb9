"""Set-based checks of the stored bars and symbols, one query each (the asset checks call these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import sqlalchemy as sa

from tickstock_pipelines.loading.symbols_sync import ETP_TYPES
from tickstock_pipelines.market_calendar import sessions

MISSING_DATES_SHOWN = 10  # missing sessions named per symbol in the check's metadata


@dataclass(frozen=True)
class Holes:
    """Sessions missing from each symbol's loaded range (first stored bar .. end of its loaded window)."""

    checked: int
    missing: dict[str, int]
    dates: dict[str, list[str]] = field(default_factory=dict)  # the first missing sessions of each symbol

    @property
    def total(self) -> int:
        return sum(self.missing.values())


def missing_sessions(conn: sa.Connection, symbols: Sequence[str]) -> Holes:
    """NYSE sessions with no bar between each symbol's first stored bar and the end of its loaded window.

    The window's end is `coverage_targets.loaded_end` (the last session the loader asked the API for), or
    the last stored bar when it is later or unknown: a symbol said to be loaded to a session must have the
    bars up to it. The start stays the first stored bar: a symbol listed after the window's start
    legitimately has no earlier bars.
    """
    rows = conn.execute(
        sa.text("SELECT d.symbol, min(d.date), GREATEST(max(d.date), max(c.loaded_end)), count(*) "
                "  FROM ohlcv_daily d LEFT JOIN coverage_targets c "
                "    ON c.symbol = d.symbol AND c.timespan = 'day' "
                " WHERE d.symbol = ANY(:symbols) GROUP BY d.symbol ORDER BY d.symbol"),
        {"symbols": list(symbols)}).all()
    dates = sessions().dates
    missing, named = {}, {}
    for symbol, first, end, count in rows:
        lo = int(np.searchsorted(dates, np.datetime64(first, "D"), side="left"))
        hi = int(np.searchsorted(dates, np.datetime64(end, "D"), side="right"))
        if hi - lo > count:
            missing[symbol] = hi - lo - count
            stored = conn.execute(sa.text("SELECT date FROM ohlcv_daily WHERE symbol = :s"),
                                  {"s": symbol}).scalars()
            absent = np.setdiff1d(dates[lo:hi], np.array(list(stored), dtype="datetime64[D]"))
            named[symbol] = [str(d) for d in absent[:MISSING_DATES_SHOWN]]
    return Holes(len(rows), missing, named)


def stale_symbols(conn: sa.Connection, symbols: Sequence[str], last_session: date) -> list[str]:
    """Active symbols with bars whose last bar is older than the last completed session."""
    return list(conn.execute(
        sa.text("SELECT d.symbol FROM ohlcv_daily d JOIN symbols s ON s.symbol = d.symbol AND s.active "
                "WHERE d.symbol = ANY(:symbols) GROUP BY d.symbol HAVING max(d.date) < :last ORDER BY 1"),
        {"symbols": list(symbols), "last": last_session}).scalars())


def share_with(conn: sa.Connection, column: str, *, etps: bool) -> tuple[int, int]:
    """(rows with `column` set, rows) among active stocks (CS) or active ETPs."""
    condition = "upper(type) = ANY(:types)" if etps else "type = 'CS'"
    known = {"sector": "sector IS NOT NULL AND sector <> 'Unknown'", "issuer": "issuer IS NOT NULL"}[column]
    have, total = conn.execute(
        sa.text(f"SELECT count(*) FILTER (WHERE {known}), count(*) FROM symbols "  # noqa: S608
                f"WHERE active AND {condition}"), {"types": sorted(ETP_TYPES)}).one()
    return int(have), int(total)
