"""A load request, in one model for every entry point, and the one function that resolves it.

`tickstock load`, the `symbols` asset's Launchpad config, the new-symbols sensor, the schedules and the
tests all build a `LoadRequest` and call `resolve`, so they refuse the same input with the same one-line
reason before any call or write. The CLI resolves once and hands the run the tickers it found
(`SymbolsConfig.resolved_tickers`), so the run loads exactly the partitions the CLI added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any, Literal

import sqlalchemy as sa
from dagster import Config
from pydantic import Field

from tickstock_pipelines.loading.coverage import Timespan
from tickstock_pipelines.loading.requests import (
    INDEX_UNIVERSES,
    LoadInputError,
    cache_universe,
    history_start,
    index_universe,
    normalise_ticker,
    parse_symbol_list,
    read_symbols_csv,
    universe_keys,
)
from tickstock_pipelines.resources.polygon import PolygonClient, TickerRef

# Universes that are the API's own ticker list (one paged list call) and the Polygon type they list.
LISTED_UNIVERSES = {"all_etfs": "ETF", "all_stocks": "CS"}
PRIORITIES = ("low", "normal", "high")


class History(Enum):
    """History choices for the Launchpad: the type carries the bounds (nothing beyond 10 years)."""

    ONE_MONTH = "1 month"
    THREE_MONTHS = "3 months"
    SIX_MONTHS = "6 months"
    ONE_YEAR = "1 year"
    TWO_YEARS = "2 years"
    THREE_YEARS = "3 years"
    FIVE_YEARS = "5 years"
    TEN_YEARS = "10 years"

    @property
    def window(self) -> tuple[float | None, int | None]:
        """(years, months) as `history_start` takes them."""
        count, unit = self.value.split()
        return (None, int(count)) if unit.startswith("month") else (float(count), None)


class LoadRequest(Config):
    """What to load: exactly one of universe, symbols, symbols_csv; how much history; which bars."""

    universe: str | None = Field(default=None, description=(
        "sp500, nasdaq100, dow30, all_etfs, all_stocks, or a universe key already in cache_entries "
        "(top_50, mega_cap, ai, etf_growth, …); several comma-separated load their union in one run "
        "(`all_stocks,all_etfs`: the whole market)"))
    symbols: Any = Field(default=None, description=(
        "tickers as a comma-separated string (`AAPL,MSFT,BRK.B`) or a list (`[AAPL, MSFT]`)"))
    symbols_csv: str | None = Field(default=None, description="path of a CSV file with a `symbol` column")
    history: History | None = Field(default=None, description=(
        "how far back: ONE_MONTH, THREE_MONTHS, SIX_MONTHS, ONE_YEAR (the default), TWO_YEARS, THREE_YEARS, "
        "FIVE_YEARS or TEN_YEARS"))
    years: float | None = Field(default=None, description=(
        "instead of history: years, 0 < Y ≤ 10, fractions allowed (what `tickstock load --years` sets)"))
    months: int | None = Field(default=None, description="instead of history: months, 1..120 (`--months`)")
    timespan: Literal["day", "minute"] = Field(default="day", description="day or minute bars")
    priority: Literal["low", "normal", "high"] = Field(default="normal", description=(
        "recorded with the request; the runs launched for it get dagster/priority"))


@dataclass(frozen=True)
class Resolved:
    """A validated request: the tickers, the first day of history wanted, and where they came from."""

    symbols: tuple[str, ...]
    start: date
    timespan: Timespan = "day"
    priority: str = "normal"
    source: str = "symbols"  # universe | symbols | csv | schedule | ui
    universe: str | None = None  # its keys, normalised and comma-separated
    # list items already fetched for a listed universe: ETF rows need no details call
    refs: tuple[TickerRef, ...] = ()
    etf_list_pages: int = 0  # ticker-list pages of all_etfs: the run asks them again (for `refs`)

    def describe(self) -> dict[str, Any]:
        """The request as the admin message and the run's metadata show it."""
        return {"source": self.source, "universe": self.universe, "symbols": len(self.symbols),
                "start": self.start.isoformat(), "timespan": self.timespan, "priority": self.priority}


def _given(request: LoadRequest) -> list[str]:
    return [n for n, v in (("--universe", request.universe), ("--symbols", request.symbols),
                           ("--symbols-csv", request.symbols_csv)) if v]


def check_shape(request: LoadRequest) -> None:
    """Everything that can be refused without the database or the API."""
    given = _given(request)
    if len(given) != 1:
        raise LoadInputError("give exactly one of --universe, --symbols, --symbols-csv"
                             + (f" (got {', '.join(given)})" if given else ""))
    windows = [n for n, v in (("history", request.history), ("--years", request.years),
                              ("--months", request.months)) if v is not None]
    if len(windows) > 1:
        raise LoadInputError(f"give one of history, --years, --months, not {' and '.join(windows)}")
    if request.timespan not in ("day", "minute"):
        raise LoadInputError(f"timespan must be day or minute, not {request.timespan!r:.20}")
    if request.priority not in PRIORITIES:
        raise LoadInputError(f"priority must be low, normal or high, not {request.priority!r:.20}")
    if request.symbols is not None and not isinstance(request.symbols, str | list | tuple):
        raise LoadInputError("symbols must be a comma-separated string or a list of tickers")
    if request.universe:
        universe_keys(request.universe)


def start_of(request: LoadRequest, end: date) -> date:
    """The first day of history the request wants (one year when it says nothing)."""
    years, months = request.history.window if request.history else (request.years, request.months)
    return history_start(end, years=years, months=months)


def _symbols(raw: str | Sequence[Any]) -> tuple[str, ...]:
    if isinstance(raw, str):
        return parse_symbol_list(raw)
    return tuple(dict.fromkeys(normalise_ticker(s) for s in raw))


def resolve(request: LoadRequest, conn: sa.Connection, end: date,
            client: Callable[[], PolygonClient] | None = None,
            tickers: Sequence[str] | None = None) -> Resolved:
    """Validate and resolve; `client` is only called for a listed universe (one paged list call).

    `tickers`: the request was resolved already (by `tickstock load`): keep its tickers, only the list
    items of all_etfs are fetched again (their rows need no details call)."""
    check_shape(request)
    start = start_of(request, end)
    timespan: Timespan = "minute" if request.timespan == "minute" else "day"
    refs: tuple[TickerRef, ...] = ()
    key: str | None = None
    pages = 0
    if request.symbols_csv:
        source = "csv"
        symbols = _symbols(tickers) if tickers else read_symbols_csv(request.symbols_csv)
    elif request.symbols:
        source = "symbols"
        symbols = _symbols(tickers or request.symbols)
    else:
        keys = universe_keys(request.universe or "")  # recorded as normalised: 'SP500' is 'sp500'
        source, key = "universe", ",".join(keys)
        symbols, refs, pages = _universes(keys, conn, client, tickers)
    if not symbols:
        raise LoadInputError("no symbols to load")
    return Resolved(symbols=symbols, start=start, timespan=timespan, priority=request.priority,
                    source=source, universe=key, refs=refs, etf_list_pages=pages)


def _universes(keys: Sequence[str], conn: sa.Connection, client: Callable[[], PolygonClient] | None,
               tickers: Sequence[str] | None) -> tuple[tuple[str, ...], tuple[TickerRef, ...], int]:
    """(the union of the universes' symbols, the ETF list items, the ETF list's pages). Every key is
    checked before the first list call. Given `tickers` (resolved before), only all_etfs is listed again:
    its items are the ETF rows."""
    members: dict[str, tuple[str, ...]] = {}
    for key in keys:
        if key in LISTED_UNIVERSES:
            if client is None:
                raise LoadInputError(f"{key} needs the Polygon API")
        elif not tickers:
            members[key] = index_universe(key) or cache_universe(conn, key) or ()
            if not members[key]:
                raise LoadInputError(
                    f"unknown universe {key!r}: use {', '.join(INDEX_UNIVERSES)}, "
                    f"{', '.join(LISTED_UNIVERSES)} or a universe key already in cache_entries (top_50, "
                    "mega_cap, ai, etf_growth, …)")
    refs: tuple[TickerRef, ...] = ()
    pages = 0
    for key in (k for k in keys if k in LISTED_UNIVERSES and client is not None):
        if key == "all_etfs" or not tickers:
            before = client().calls["tickers"]
            listed = tuple(client().list_tickers(ticker_type=LISTED_UNIVERSES[key]))
            members[key] = tuple(r.ticker.upper() for r in listed)
            if key == "all_etfs":  # stocks need details: SIC code and market cap
                refs, pages = listed, client().calls["tickers"] - before
    found = _symbols(tickers) if tickers else tuple(s for key in keys for s in members.get(key, ()))
    return tuple(dict.fromkeys(found)), refs, pages


def requested_symbols(raw: Any) -> tuple[str, ...]:
    """Tickers given as a comma-separated string or a list (a Launchpad field), refused in the CLI's words."""
    if raw is not None and not isinstance(raw, str | list | tuple):
        raise LoadInputError("symbols must be a comma-separated string or a list of tickers")
    return _symbols(raw) if raw else parse_symbol_list("")  # nothing given: the CLI's "no symbols given"
