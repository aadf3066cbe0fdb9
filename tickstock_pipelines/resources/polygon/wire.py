"""Grouped-daily answers decoded in C: about 10,000 bars a session, 1,255 sessions for 5 years of the market.

`json.loads` plus one pydantic `GroupedBar` per wanted bar took most of a whole-market load's CPU (py-spy:
validation 30%, decoding 10% of the worker threads' samples). `decode` reads a body straight into typed
`WireBar`s with msgspec: it checks the types in C (a string ticker, an integer timestamp, numbers, where JSON
cannot carry NaN or infinity and msgspec refuses a number out of range), and `sort_bars` checks in Python
the invariants `Bar` checks (low ≤ open, close ≤ high; volume, transactions ≥ 0).

Anything unusual takes the generic path, so what it reports reads exactly as before: a body msgspec does
not accept whole (malformed JSON, NaN, a missing field, a string where a number belongs, a field under its
long name, which `GroupedBar` would prefer) is decoded by `json.loads` and validated bar by bar by
`GroupedBar`; a bar that breaks an invariant is handed to `GroupedBar` as sent.
"""

from __future__ import annotations

from collections.abc import Container
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from tickstock_pipelines.resources.polygon.models import (
    NEW_YORK,
    GroupedBar,
    GroupedPage,
    parse_bar,
    ticker_of,
)

_WIRE_NAMES = {"ticker": "T", "epoch_ms": "t", "open": "o", "high": "h", "low": "l", "close": "c",
               "volume": "v", "vwap": "vw", "transactions": "n"}
_LONG_NAMES = {f"long_{name}": name for name in (
    "ticker", "timestamp", "open", "high", "low", "close", "volume", "vwap", "transactions")}


class WireBar(msgspec.Struct, frozen=True, gc=False, rename=_WIRE_NAMES | _LONG_NAMES):
    """One grouped-daily bar as Polygon sends it, with `GroupedBar`'s attribute names."""

    ticker: str
    epoch_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None = None
    transactions: int | None = None
    # GroupedBar reads these names before the short ones: a bar with any of them is not decoded here
    long_ticker: UnsetType = UNSET
    long_timestamp: UnsetType = UNSET
    long_open: UnsetType = UNSET
    long_high: UnsetType = UNSET
    long_low: UnsetType = UNSET
    long_close: UnsetType = UNSET
    long_volume: UnsetType = UNSET
    long_vwap: UnsetType = UNSET
    long_transactions: UnsetType = UNSET

    @property
    def timestamp(self) -> datetime:
        return datetime.fromtimestamp(self.epoch_ms / 1000, UTC)

    @property
    def session_date(self) -> date:
        """The New York date of the bar's stamp, as `Bar.session_date` (one conversion per session)."""
        session = _session(self.epoch_ms)
        assert session is not None  # sort_bars keeps only bars whose stamp converts
        return session

    def as_sent(self) -> dict[str, Any]:
        return {"T": self.ticker, "t": self.epoch_ms, "o": self.open, "h": self.high, "l": self.low,
                "c": self.close, "v": self.volume, "vw": self.vwap, "n": self.transactions}


class _Body(msgspec.Struct):
    results: list[WireBar] | None = None
    next_url: str | None = None


_DECODER = msgspec.json.Decoder(_Body)


@lru_cache(maxsize=4096)
def _session(epoch_ms: int) -> date | None:
    try:
        return datetime.fromtimestamp(epoch_ms / 1000, UTC).astimezone(NEW_YORK).date()
    except (OverflowError, OSError, ValueError):
        return None  # GroupedBar says why


def decode(content: bytes) -> dict[str, Any] | None:
    """The body's `results` (WireBars) and `next_url`; None when it is not a plain grouped-daily answer."""
    try:
        body = _DECODER.decode(content)
    except msgspec.MsgspecError:
        return None
    return {"results": body.results, "next_url": body.next_url}


def sort_bars(raw_bars: list[Any], tickers: Container[str] | None, page: GroupedPage) -> None:
    """The wanted bars of one page into `page.bars` (valid) or `page.rejected` (with why); the others are
    skipped unread. `raw_bars` are WireBars from `decode`, or plain JSON when it declined the body."""
    bars, rejected = page.bars, page.rejected
    for raw in raw_bars:
        if type(raw) is WireBar:
            if tickers is not None and (raw.ticker or "?") not in tickers:
                continue
            low, high = raw.low, raw.high
            if (low <= raw.open <= high and low <= raw.close <= high and raw.volume >= 0
                    and (raw.transactions is None or raw.transactions >= 0) and _session(raw.epoch_ms)):
                bars.append(raw)
                continue
            raw = raw.as_sent()
        ticker = ticker_of(raw, "?")
        if tickers is None or ticker in tickers:
            parsed = parse_bar(raw, ticker, GroupedBar)
            (bars if isinstance(parsed, GroupedBar) else rejected).append(parsed)
