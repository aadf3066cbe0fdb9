"""Set-based checks of the stored bars and symbols, one query each (the asset checks call these)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import sqlalchemy as sa

from tickstock_pipelines.loading.symbols_sync import ETP_TYPES
from tickstock_pipelines.market_calendar import sessions


@dataclass(frozen=True)
class Holes:
    """Sessions missing inside each symbol's stored range (first bar .. last bar)."""

    checked: int
    missing: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.missing.values())


def missing_sessions(conn: sa.Connection, symbols: Sequence[str]) -> Holes:
    """NYSE sessions between each symbol's first and last stored bar that have no bar."""
    rows = conn.execute(
        sa.text("SELECT symbol, min(date), max(date), count(*) FROM ohlcv_daily "
                "WHERE symbol = ANY(:symbols) GROUP BY symbol"), {"symbols": list(symbols)}).all()
    dates = sessions().dates
    missing = {}
    for symbol, first, last, count in rows:
        expected = int(np.searchsorted(dates, np.datetime64(last, "D"), side="right")
                       - np.searchsorted(dates, np.datetime64(first, "D"), side="left"))
        if expected > count:
            missing[symbol] = expected - count
    return Holes(len(rows), missing)


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
