"""Symbols listed inside their window: their list date, not an aggregates call, proves the sessions before it.

Grouped daily answers only for tickers that traded, so a symbol listed after its window starts is missing
from every answer before its listing. A stock's details (fetched before its bars) give its list date and
its gap starts there, so it is never missing those sessions. An ETF of `all_etfs` has its row from the
ticker list, which has no list date: its gap starts with the window. When grouped daily first shows such a
symbol after the window's start and it was missing nothing since, one details call (not a bar call) gives
its list date; the missing sessions all before that date are proven without a trade, and the date is
stored so later loads start there. A symbol missing later sessions too, one whose details do not answer
or give no date, or one already with a list date (then the answer really left it out) gets its one
aggregates call as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.concurrency import ordered_map
from tickstock_pipelines.resources.polygon import PolygonClient, PolygonError, TickerDetails


def listed_late(missing: Mapping[str, Sequence[date]], first_seen: Mapping[str, date]) -> list[str]:
    """Symbols whose every missing session precedes the first session grouped daily showed them in."""
    return sorted(s for s, days in missing.items() if days and s in first_seen and max(days) < first_seen[s])


def without_list_date(engine: sa.Engine, symbols: Sequence[str]) -> list[str]:
    """The symbols whose row has no list date (the others' gaps already start at it)."""
    if not symbols:
        return []
    with engine.connect() as conn:
        found = set(conn.execute(sa.text(
            "SELECT symbol FROM symbols WHERE symbol = ANY(:s) AND list_date IS NULL"),
            {"s": list(symbols)}).scalars())
    return [s for s in symbols if s in found]


def list_dates(client: PolygonClient, symbols: Sequence[str]) -> dict[str, date]:
    """One details call per symbol: the list dates the answers give (a failed or unknown ticker: none)."""

    def ask(symbol: str) -> TickerDetails | None:
        try:
            return client.ticker_details(symbol)
        except PolygonError:
            return None  # its aggregates call decides, and names the failure if it fails too

    answers = ordered_map(ask, symbols, client.concurrency)
    return {s: d.list_date for s, d in zip(symbols, answers, strict=True) if d is not None and d.list_date}


def proven_before_listing(missing: Mapping[str, Sequence[date]], dates: Mapping[str, date]) -> list[str]:
    """Symbols whose missing sessions all precede their list date: no trade is possible on any of them."""
    return [s for s, listed in dates.items() if missing.get(s) and max(missing[s]) < listed]


def store_list_dates(engine: sa.Engine, dates: Mapping[str, date]) -> None:
    """Fill the rows' list dates (never replacing one): later loads start the symbols' gaps there."""
    if dates:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE symbols s SET list_date = u.d, last_updated = now() "
                "  FROM unnest(CAST(:s AS text[]), CAST(:d AS date[])) AS u(symbol, d) "
                " WHERE s.symbol = u.symbol AND s.list_date IS NULL"),
                {"s": list(dates), "d": list(dates.values())})
