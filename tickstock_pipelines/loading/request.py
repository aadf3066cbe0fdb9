"""A load request, in one model for every entry point, and the one function that resolves it.

`tickstock load`, the `symbols` asset's Launchpad config, the new-symbols sensor, the schedules and the
tests all build a `LoadRequest` and call `resolve`, so they refuse the same input with the same one-line
reason before any call or write. The CLI resolves once and hands the run the tickers it found
(`SymbolsConfig.resolved_tickers`), so the run loads exactly the partitions the CLI added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import sqlalchemy as sa
from dagster import Config
from pydantic import Field

from tickstock_pipelines.loading.coverage import Timespan
from tickstock_pipelines.loading.requests import (
    HISTORY_TYPE,
    INDEX_UNIVERSES,
    History,
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


DEFAULT_HISTORY = History.ONE_YEAR
HISTORY_TAG = "tickstock/history"  # `tickstock load --years/--months` on its run: "2.5 years", "7 months"


class LoadRequest(Config):
    """What to load: exactly one of universe, symbols, symbols_csv; how much history; which bars.

    Every field has a default the Launchpad shows (an empty string is "not given", `ONE_YEAR` is the
    history a request without one gets), so opening the Launchpad lays the request out to fill in."""

    universe: str | None = Field(default="", description=(
        "sp500, nasdaq100, dow30, all_etfs, all_stocks, or a universe key already in cache_entries "
        "(top_50, mega_cap, ai, etf_growth, …); several comma-separated load their union in one run "
        "(`all_stocks,all_etfs`: the whole market); leave empty when giving symbols or symbols_csv"))
    symbols: Any = Field(default="", description=(
        "tickers as a comma-separated string (`AAPL,MSFT,BRK.B`) or a list (`[AAPL, MSFT]`); leave all "
        "three of universe, symbols, symbols_csv empty to refresh stale details only"))
    symbols_csv: str | None = Field(default="", description="path of a CSV file with a `symbol` column")
    history: History | None = Field(default=DEFAULT_HISTORY, description=(
        f"how far back: {HISTORY_TYPE}; anything else is refused before a run exists. `tickstock load` "
        "takes --years (more than 0, at most 10, fractions allowed) or --months (1 to 120) instead"))
    timespan: Literal["day", "minute"] = Field(default="day", description="day or minute bars")
    priority: Literal["low", "normal", "high"] = Field(default="normal", description=(
        "recorded with the request; the runs launched for it get dagster/priority"))


@dataclass(frozen=True)
class Window:
    """`tickstock load --years/--months`: a history the enum cannot say (2.5 years, 7 months). It reaches
    the run as the tag `tickstock/history`, not as config, so the Launchpad's config holds only the enum;
    the run checks the tag at its start (the CLI checked it before launching)."""

    years: float | None = None
    months: int | None = None

    @property
    def flag(self) -> str:
        return "--months" if self.months is not None else "--years"

    def start(self, end: date) -> date:
        return history_start(end, years=self.years, months=self.months)

    def tags(self) -> dict[str, str]:
        if self.months is not None:
            return {HISTORY_TAG: f"{self.months} months"}
        if self.years is None:
            return {}
        short = f"{self.years:g}"  # "2.5", "2"; all the digits when that would round (the same start day)
        return {HISTORY_TAG: f"{short if float(short) == self.years else repr(self.years)} years"}

    @classmethod
    def of(cls, years: float | None, months: int | None) -> Window | None:
        return None if years is None and months is None else cls(years, months)

    @classmethod
    def of_tags(cls, tags: Mapping[str, str]) -> Window | None:
        """The window a run's tag asks for (none without the tag); a malformed one is refused in one line."""
        text = tags.get(HISTORY_TAG)
        if text is None:
            return None
        count, _, unit = text.strip().partition(" ")
        try:
            if unit.strip() in ("year", "years"):
                return cls(years=float(count))
            if unit.strip() in ("month", "months"):
                return cls(months=int(count))
        except ValueError:
            pass
        raise LoadInputError(f"the run's tag {HISTORY_TAG} must read 'Y years' or 'M months', got "
                             f"{text[:20]!r}")


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
    """The sources given: an empty string or list is not given (the Launchpad's defaults are empty)."""
    return [n for n, v in (("--universe", request.universe), ("--symbols", request.symbols),
                           ("--symbols-csv", request.symbols_csv)) if v]


def history_given(request: LoadRequest) -> bool:
    """A history other than the default was asked for (the default is what saying nothing means)."""
    return request.history not in (None, DEFAULT_HISTORY)


def check_shape(request: LoadRequest, window: Window | None = None) -> None:
    """Everything that can be refused without the database or the API."""
    given = _given(request)
    if len(given) != 1:
        raise LoadInputError("give exactly one of --universe, --symbols, --symbols-csv"
                             + (f" (got {', '.join(given)})" if given else ""))
    if window is not None and history_given(request):
        raise LoadInputError(f"give one of history, --years, --months, not history and {window.flag}")
    if request.timespan not in ("day", "minute"):
        raise LoadInputError(f"timespan must be day or minute, not {request.timespan!r:.20}")
    if request.priority not in PRIORITIES:
        raise LoadInputError(f"priority must be low, normal or high, not {request.priority!r:.20}")
    if request.symbols is not None and not isinstance(request.symbols, str | list | tuple):
        raise LoadInputError("symbols must be a comma-separated string or a list of tickers")
    if request.universe:
        universe_keys(request.universe)


def start_of(request: LoadRequest, end: date, window: Window | None = None) -> date:
    """The first day of history the request wants (one year when it says nothing)."""
    if window is not None:
        return window.start(end)
    years, months = (request.history or DEFAULT_HISTORY).window
    return history_start(end, years=years, months=months)


def _symbols(raw: str | Sequence[Any]) -> tuple[str, ...]:
    if isinstance(raw, str):
        return parse_symbol_list(raw)
    return tuple(dict.fromkeys(normalise_ticker(s) for s in raw))


def resolve(request: LoadRequest, conn: sa.Connection, end: date,
            client: Callable[[], PolygonClient] | None = None,
            tickers: Sequence[str] | None = None, window: Window | None = None) -> Resolved:
    """Validate and resolve; `client` is only called for a listed universe (one paged list call).

    `tickers`: the request was resolved already (by `tickstock load`): keep its tickers, only the list
    items of all_etfs are fetched again (their rows need no details call). `window`: the CLI's
    --years/--months, instead of `history`."""
    check_shape(request, window)
    start = start_of(request, end, window)
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
