"""Typed Polygon payloads. A bar that breaks OHLCV invariants is rejected with its ticker and date and
never returned as valid: the loader stores `bars` and reports `rejected`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

if TYPE_CHECKING:
    from tickstock_pipelines.resources.polygon.wire import WireBar

NEW_YORK = ZoneInfo("America/New_York")


class _Model(BaseModel):
    # extra="ignore": Polygon adds fields over time; numbers where strings are documented (cik) are kept.
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False,
                              populate_by_name=True)


class TickerRef(_Model):
    """One item of /v3/reference/tickers."""

    ticker: str
    name: str | None = None
    type: str | None = None
    active: bool | None = None
    market: str | None = None
    locale: str | None = None
    primary_exchange: str | None = None
    currency_name: str | None = None
    cik: str | None = None
    composite_figi: str | None = None
    share_class_figi: str | None = None
    delisted_utc: datetime | None = None


class TickerDetails(TickerRef):
    """/v3/reference/tickers/{ticker} `results`."""

    market_cap: float | None = None
    weighted_shares_outstanding: float | None = None
    share_class_shares_outstanding: float | None = None
    sic_code: str | None = None
    sic_description: str | None = None
    list_date: date | None = None
    description: str | None = None
    homepage_url: str | None = None
    total_employees: int | None = None


class Split(_Model):
    """One item of /v3/reference/splits: `split_from` old shares became `split_to` new ones."""

    ticker: str
    execution_date: date
    split_from: float = Field(gt=0)
    split_to: float = Field(gt=0)
    id: str | None = None


def _ms_to_utc(value: Any) -> Any:
    """Polygon stamps bars in Unix milliseconds; pydantic would guess the unit, so be explicit."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError) as exc:  # ValueError (a year past 9999) reads as a validation error
            raise ValueError(f"timestamp {value} out of range") from exc
    return value


class Bar(_Model):
    """One aggregate. Accepts Polygon's wire names (t, o, h, l, c, v, vw, n) or the field names.

    NaN/inf are let through the field parsers and refused by `_sound` so the reason reads plainly.
    """

    model_config = ConfigDict(allow_inf_nan=True)

    timestamp: datetime = Field(validation_alias=AliasChoices("timestamp", "t"))
    open: float = Field(validation_alias=AliasChoices("open", "o"))
    high: float = Field(validation_alias=AliasChoices("high", "h"))
    low: float = Field(validation_alias=AliasChoices("low", "l"))
    close: float = Field(validation_alias=AliasChoices("close", "c"))
    volume: float = Field(validation_alias=AliasChoices("volume", "v"))
    vwap: float | None = Field(default=None, validation_alias=AliasChoices("vwap", "vw"))
    transactions: int | None = Field(default=None, ge=0, validation_alias=AliasChoices("transactions", "n"))

    _utc = field_validator("timestamp", mode="before")(_ms_to_utc)

    @field_validator("timestamp")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _sound(self) -> Bar:
        for name in ("open", "high", "low", "close", "volume", "vwap"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} is {value} (NaN or infinite)")
        if self.volume < 0:
            raise ValueError(f"negative volume {self.volume}")
        if self.high < self.low:
            raise ValueError(f"high {self.high} < low {self.low}")
        if not (self.low <= self.open <= self.high):
            raise ValueError(f"open {self.open} outside [low {self.low}, high {self.high}]")
        if not (self.low <= self.close <= self.high):
            raise ValueError(f"close {self.close} outside [low {self.low}, high {self.high}]")
        return self

    @property
    def session_date(self) -> date:
        """Polygon stamps day bars at midnight New York time: the session is that New York date."""
        return self.timestamp.astimezone(NEW_YORK).date()


class GroupedBar(Bar):
    """One item of grouped daily: a bar plus its ticker (`T` on the wire)."""

    ticker: str = Field(validation_alias=AliasChoices("ticker", "T"))


@dataclass(frozen=True)
class InvalidBar:
    """A bar that was not returned as valid, with why; `date` is the New York session date."""

    ticker: str
    date: date | None
    reason: str
    timestamp: datetime | None = None


@dataclass
class AggsPage:
    """One page of /v2/aggs/ticker: valid bars to store, rejected ones to report."""

    bars: list[Bar] = field(default_factory=list)
    rejected: list[InvalidBar] = field(default_factory=list)


@dataclass
class GroupedPage:
    """Grouped daily for one session (every page): valid bars by ticker, rejected ones to report. A bar is
    a WireBar (decoded in C, same attributes) unless the answer took the generic path (wire.py)."""

    bars: list[GroupedBar | WireBar] = field(default_factory=list)
    rejected: list[InvalidBar] = field(default_factory=list)


def ticker_of(raw: Any, default: str) -> str:
    """The ticker a raw item names (`ticker`, else `T`), or `default` when it names none."""
    ticker = raw.get("ticker", raw.get("T")) if isinstance(raw, dict) else None
    return ticker if isinstance(ticker, str) and ticker else default


def _reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def parse_bar(raw: Any, ticker: str, model: type[Bar] = Bar) -> Bar | InvalidBar:
    """A valid `model`, or an InvalidBar naming the ticker, the session date (when readable) and why."""
    if not isinstance(raw, dict):
        return InvalidBar(ticker, None, f"bar is a {type(raw).__name__}, not an object")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        try:
            when = _ms_to_utc(raw.get("t", raw.get("timestamp")))
        except ValueError:  # a stamp no date can hold: rejected without a date
            when = None
        when = when if isinstance(when, datetime) else None
        return InvalidBar(ticker, when.astimezone(NEW_YORK).date() if when else None, _reason(exc), when)
