"""Typed Polygon payloads; invalid bars are rejected with the ticker and date, never returned as valid."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

NEW_YORK = ZoneInfo("America/New_York")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TickerRef(_Model):
    ticker: str
    name: str | None = None
    type: str | None = None
    active: bool = True
    market: str | None = None
    locale: str | None = None
    primary_exchange: str | None = None
    currency_name: str | None = None
    cik: str | None = None
    composite_figi: str | None = None
    share_class_figi: str | None = None


class TickerDetails(TickerRef):
    market_cap: float | None = None
    weighted_shares_outstanding: float | None = None
    sic_code: str | None = None
    sic_description: str | None = None
    list_date: date | None = None


class Split(_Model):
    ticker: str
    execution_date: date
    split_from: float
    split_to: float


class Bar(_Model):
    timestamp: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    vwap: float | None = None
    transactions: int | None = None

    @property
    def session_date(self) -> date:
        """Polygon stamps day bars at midnight New York time: the session date is that local date."""
        return self.timestamp.astimezone(NEW_YORK).date()


class GroupedBar(Bar):
    ticker: str


@dataclass(frozen=True)
class InvalidBar:
    ticker: str
    date: date | None
    reason: str


@dataclass
class AggsPage:
    bars: list[Bar] = field(default_factory=list)
    rejected: list[InvalidBar] = field(default_factory=list)


@dataclass
class GroupedPage:
    bars: list[GroupedBar] = field(default_factory=list)
    rejected: list[InvalidBar] = field(default_factory=list)


def bar_problem(raw: dict) -> str | None:
    """Why a raw aggregate cannot be stored, or None when it is sound."""
    try:
        o, h, lo, c, v = (float(raw[k]) for k in ("o", "h", "l", "c", "v"))
    except (KeyError, TypeError, ValueError):
        return "missing or non-numeric o/h/l/c/v"
    if any(math.isnan(x) or math.isinf(x) for x in (o, h, lo, c, v)):
        return "NaN or infinite value"
    if h < lo:
        return f"high {h} < low {lo}"
    if not (lo <= o <= h and lo <= c <= h):
        return "open or close outside [low, high]"
    if v < 0:
        return f"negative volume {v}"
    return None


def parse_bar(raw: dict, ticker: str) -> Bar | InvalidBar:
    stamp = raw.get("t")
    when = datetime.fromtimestamp(stamp / 1000, UTC) if isinstance(stamp, int | float) else None
    problem = bar_problem(raw) if when else "missing timestamp"
    if problem:
        return InvalidBar(ticker, when.astimezone(NEW_YORK).date() if when else None, problem)
    fields = {"timestamp": when, "open": raw["o"], "high": raw["h"], "low": raw["l"], "close": raw["c"],
              "volume": raw["v"], "vwap": raw.get("vw"), "transactions": raw.get("n")}
    return GroupedBar(ticker=ticker, **fields) if "T" in raw else Bar(**fields)
