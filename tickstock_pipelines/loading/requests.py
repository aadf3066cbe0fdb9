"""What a load asks for: tickers, symbol lists and CSVs, history windows and universes, all validated.

Everything here runs before any API call or database write, so bad input fails with one line
(`LoadInputError`) and nothing has happened yet.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import Enum
from numbers import Real
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta


class LoadInputError(ValueError):
    """One-line, user-facing reason; nothing has been written."""


# 1-10 of A-Z, 0-9 and '.', at least one of them a letter or digit ('...' is not a ticker). `\Z`, not `$`:
# `$` would also accept a trailing newline.
TICKER_PATTERN = re.compile(r"^(?=[A-Z0-9.]*[A-Z0-9])[A-Z0-9.]{1,10}\Z")
_TICKER_RULE = "1-10 characters of A-Z, 0-9 and '.'"
_SHOWN = 20  # characters of a rejected value echoed back: enough to recognise it, never a wall of text


def _shown(raw: object) -> str:
    """The rejected value for a message: repr-quoted (control characters escaped), at most 20 characters."""
    text = raw if isinstance(raw, str) else str(raw)
    clipped = text[:_SHOWN]
    return repr(clipped) + ("…" if len(text) > _SHOWN else "")


def normalise_ticker(raw: str) -> str:
    """`' brk.b '` → `'BRK.B'`; anything that is not a ticker raises before it reaches a URL or a query."""
    if not isinstance(raw, str):
        raise LoadInputError(f"invalid ticker {_shown(raw)}: {_TICKER_RULE}")
    text = raw.strip()
    # ASCII first: str.upper() turns 'ß' into 'SS' and 'ı' into 'I', which would smuggle in a ticker.
    ticker = text.upper() if text.isascii() else text
    if not TICKER_PATTERN.match(ticker):
        raise LoadInputError(f"invalid ticker {_shown(raw)}: {_TICKER_RULE}")
    return ticker


def _unique(tickers: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(tickers))


def parse_symbol_list(text: str) -> tuple[str, ...]:
    """`"aapl, msft,BRK.B"` → `("AAPL", "MSFT", "BRK.B")`: order kept, duplicates dropped.

    Commas and whitespace both separate, so a pasted column or a space-separated list works too.
    """
    tickers = _unique(normalise_ticker(part) for part in re.split(r"[,\s]+", text or "") if part)
    if not tickers:
        raise LoadInputError("no symbols given: pass a comma-separated list such as AAPL,MSFT,BRK.B")
    return tickers


def _header_text(cells: list[str]) -> str:
    shown = [re.sub(r"[^\x20-\x7e]", "?", cell.strip())[:30] for cell in cells[:10]]
    return ", ".join(shown) + (", …" if len(cells) > 10 else "")


def read_symbols_csv(path: str | Path) -> tuple[str, ...]:
    """Tickers from the `symbol` (or `Symbol`) column, streamed: a million rows need no more memory
    than the distinct tickers themselves. Every cell is validated; an error names its line."""
    source = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise LoadInputError(f"{source}: cannot read symbols file: {exc.strerror or exc}") from None
    with handle:
        reader = csv.reader(handle)
        seen: dict[str, str] = {}  # raw cell → ticker: repeated cells skip validation, order kept
        try:
            header = next(reader, None)
            if header is None:
                raise LoadInputError(f"{source} is empty: expected a 'symbol' column")
            names = [cell.strip().lower() for cell in header]
            if "symbol" not in names:
                raise LoadInputError(f"{source} has no 'symbol' column (found: {_header_text(header)})")
            column = names.index("symbol")
            for row in reader:
                if len(row) <= column:
                    continue
                cell = row[column]
                if cell in seen or not cell.strip():
                    continue
                try:
                    seen[cell] = normalise_ticker(cell)
                except LoadInputError as exc:
                    raise LoadInputError(f"{source} line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            # Decoding runs ahead in blocks, so the reader's line number would be a guess: none is given.
            raise LoadInputError(f"{source}: not UTF-8 text") from None
        except csv.Error as exc:
            raise LoadInputError(f"{source} line {reader.line_num}: malformed CSV: {exc}") from None
    tickers = _unique(seen.values())
    if not tickers:
        raise LoadInputError(f"{source} lists no symbols in its 'symbol' column")
    return tickers


# --- history ----------------------------------------------------------------------------------------------

MAX_YEARS = 10
MAX_MONTHS = 120


class History(Enum):
    """`history` in the Launchpad: the type carries the bounds, 1 month to 10 years. Dagster refuses any
    other value before a run exists ("… not in enum type History got TWENTY_YEARS")."""

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


# The words the CLI's refusal, the Launchpad field's description and Dagster's own refusal share.
HISTORY_TYPE = (f"enum type {History.__name__} ({', '.join(History.__members__)}: "
                f"{History.ONE_MONTH.value} to {History.TEN_YEARS.value})")


def _amount(raw: object) -> str:
    return f"{raw:g}" if isinstance(raw, Real) and not isinstance(raw, bool) else _shown(raw)


def history_start(end: date, *, years: float | None = None, months: int | None = None) -> date:
    """First calendar day of the wanted history, `end` inclusive.

    `years`: the last round(years × 365.25) calendar days (at least one). `months`: the day after `end`
    minus N calendar months, the day of month clamped (31 March − 1 month = 28/29 February, so the window
    starts on 1 March). Neither given means one year.
    """
    if isinstance(end, datetime):
        end = end.date()
    if years is not None and months is not None:
        raise LoadInputError("give either years or months of history, not both")
    if months is not None:
        if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
            raise LoadInputError(f"history must be a whole number of months from 1 to {MAX_MONTHS}, got "
                                 f"{_amount(months)} months; the Launchpad's choices: {HISTORY_TYPE}")
        return end - relativedelta(months=months) + timedelta(days=1)
    if years is None:
        years = 1
    if (isinstance(years, bool) or not isinstance(years, Real) or not math.isfinite(years)
            or not 0 < years <= MAX_YEARS):
        raise LoadInputError(f"history must be more than 0 and at most {MAX_YEARS} years, got "
                             f"{_amount(years)} years; the Launchpad's choices: {HISTORY_TYPE}")
    # A tiny fraction still means the last day: an empty window would load nothing and say nothing.
    days = max(1, round(float(years) * 365.25))
    return end - timedelta(days=days) + timedelta(days=1)


# --- universes --------------------------------------------------------------------------------------------

INDEX_UNIVERSES = ("sp500", "nasdaq100", "dow30")
_UNIVERSE_KEY = re.compile(r"^[a-z0-9_]{1,100}\Z")
# cache_entries types whose rows are lists of tickers, in order of preference when several share a key.
UNIVERSE_TYPES = ("stock_universe", "etf_universe", "themes")


def validate_universe_key(key: str) -> str:
    """`' Top_50 '` → `'top_50'`; only keys that could exist are ever looked up."""
    text = key.strip().lower() if isinstance(key, str) else ""
    if not _UNIVERSE_KEY.match(text):
        raise LoadInputError(
            f"unknown universe {_shown(key)}: universe keys are 1-100 characters of a-z, 0-9 and '_'")
    return text


def universe_keys(raw: str) -> tuple[str, ...]:
    """`'all_stocks, ALL_ETFS'` → `('all_stocks', 'all_etfs')`: one or more keys, comma-separated, each
    validated (a bad one is named), duplicates dropped; a load of several is the union of their symbols."""
    parts = [part for part in raw.split(",") if part.strip()] if isinstance(raw, str) else []
    return tuple(dict.fromkeys(validate_universe_key(part) for part in parts or [raw]))


def index_universe(key: str) -> tuple[str, ...] | None:
    """Members of a shipped index list (`sp500`, `nasdaq100`, `dow30`), or None for any other key."""
    from tickstock_pipelines import reference

    lists = {"sp500": reference.sp500, "nasdaq100": reference.nasdaq100, "dow30": reference.dow30}
    members = lists.get(key.strip().lower() if isinstance(key, str) else "")
    if members is None:
        return None
    return _unique(normalise_ticker(member.symbol) for member in members())


_CACHE_UNIVERSE_SQL = sa.text(
    """
    SELECT type, name, value FROM cache_entries
     WHERE key = :key AND environment = :environment AND type IN :types
     ORDER BY CASE type WHEN 'stock_universe' THEN 0 WHEN 'etf_universe' THEN 1 ELSE 2 END, name, id
     LIMIT 1
    """
).bindparams(sa.bindparam("types", expanding=True))


def _tickers_in(value: Any) -> list[Any] | None:
    """The member list of a universe value: a JSON array, `{"stocks": [...]}` or `{"etfs": [...]}`."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        value = value.get("stocks", value.get("etfs"))
    if not isinstance(value, list):
        return None
    members = [item.get("ticker") if isinstance(item, dict) else item for item in value]
    return members if all(isinstance(member, str) for member in members) else None


def cache_universe(conn: sa.Connection, key: str, environment: str = "DEFAULT") -> tuple[str, ...] | None:
    """Members of a universe already in `cache_entries` under `key`, or None when there is none.

    Several rows may share a key (`top_100` is both a stock leader list and the ETF top 100): stock
    universes win, then ETF universes, then themes; within a type the name decides, so the answer is stable.
    """
    row = conn.execute(
        _CACHE_UNIVERSE_SQL,
        {"key": key, "environment": environment, "types": list(UNIVERSE_TYPES)},
    ).first()
    if row is None:
        return None
    where = f"cache entry {row.type}|{row.name}|{key}"
    members = _tickers_in(row.value)
    if members is None:
        raise LoadInputError(f"{where} is not a list of tickers")
    try:
        return _unique(normalise_ticker(member) for member in members)
    except LoadInputError as exc:
        raise LoadInputError(f"{where}: {exc}") from None
