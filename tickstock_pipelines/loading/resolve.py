"""Turn what a data engineer asked for (universe, list or CSV; years or months) into a LoadRequest.

Shared by `tickstock load` and the `symbols` asset's Launchpad config, so both refuse the same input with
the same one-line reason before any call or write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import LoadRequest, Timespan
from tickstock_pipelines.loading.requests import (
    INDEX_UNIVERSES,
    LoadInputError,
    cache_universe,
    history_start,
    index_universe,
    normalise_ticker,
    parse_symbol_list,
    read_symbols_csv,
    validate_universe_key,
)
from tickstock_pipelines.resources.polygon import PolygonClient, TickerRef

ALL_ETFS = "all_etfs"
PRIORITIES = ("low", "normal", "high")


@dataclass(frozen=True)
class Ask:
    """The raw ask, exactly one of universe / symbols / symbols_csv."""

    universe: str | None = None
    symbols: tuple[str, ...] | str | None = None
    symbols_csv: str | None = None
    years: float | None = None
    months: int | None = None
    timespan: str = "day"
    priority: str = "normal"


@dataclass(frozen=True)
class Resolved:
    request: LoadRequest
    # list items already fetched for the universe (all_etfs): their rows need no details call
    refs: tuple[TickerRef, ...] = ()


def check_shape(ask: Ask) -> None:
    """Everything that can be refused without the database or the API."""
    given = [n for n, v in (("--universe", ask.universe), ("--symbols", ask.symbols),
                            ("--symbols-csv", ask.symbols_csv)) if v]
    if len(given) != 1:
        raise LoadInputError("give exactly one of --universe, --symbols, --symbols-csv"
                             + (f" (got {', '.join(given)})" if given else ""))
    if ask.years is not None and ask.months is not None:
        raise LoadInputError("give --years or --months, not both")
    if ask.timespan not in ("day", "minute"):
        raise LoadInputError(f"timespan must be day or minute, not {ask.timespan!r:.20}")
    if ask.priority not in PRIORITIES:
        raise LoadInputError(f"priority must be low, normal or high, not {ask.priority!r:.20}")
    if ask.universe:
        validate_universe_key(ask.universe)


def resolve(ask: Ask, conn: sa.Connection, end: date,
            client: Callable[[], PolygonClient] | None = None) -> Resolved:
    """Validate and resolve; `client` is only called for all_etfs (one paged list call)."""
    check_shape(ask)
    start = history_start(end, years=ask.years, months=ask.months)
    timespan: Timespan = "minute" if ask.timespan == "minute" else "day"
    refs: tuple[TickerRef, ...] = ()
    key: str | None = None
    if ask.symbols_csv:
        symbols, source = read_symbols_csv(ask.symbols_csv), "csv"
    elif ask.symbols:
        symbols = (parse_symbol_list(ask.symbols) if isinstance(ask.symbols, str)
                   else tuple(dict.fromkeys(normalise_ticker(s) for s in ask.symbols)))
        source = "symbols"
    else:
        key = validate_universe_key(ask.universe or "")  # recorded as normalised: 'SP500' is 'sp500'
        source = "universe"
        if key == ALL_ETFS:
            if client is None:
                raise LoadInputError("all_etfs needs the Polygon API")
            refs = tuple(client().list_tickers(ticker_type="ETF"))
            symbols = tuple(dict.fromkeys(r.ticker.upper() for r in refs))
        else:
            found = index_universe(key) or cache_universe(conn, key)
            if not found:
                raise LoadInputError(
                    f"unknown universe {key!r}: use {', '.join(INDEX_UNIVERSES)}, {ALL_ETFS} or a universe "
                    "key already in cache_entries (top_50, mega_cap, ai, etf_growth, …)")
            symbols = found
    if not symbols:
        raise LoadInputError("no symbols to load")
    request = LoadRequest(symbols=symbols, start=start, timespan=timespan, priority=ask.priority,
                          source=source, universe=key)
    return Resolved(request, refs)
