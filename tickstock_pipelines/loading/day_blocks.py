"""A grouped-daily answer's wanted bars packed as COPY rows in a few numpy steps, not one bar at a time.

A whole-market load writes 12 million day bars. One `Row` tuple per bar, then one `struct` pack per row,
took about half of the loading thread's time (py-spy, scale 1, 1 year). The bars of one answer share one
session, so once the tickers are grouped by their length every row is a record of fixed size: numpy lays
out PostgreSQL's binary COPY rows (big-endian, the column order of bars_store) for a whole answer at once.

A bar that does not fit such a record stays a `Row` and takes the per-row path, so every stored value and
every error is what it was: a bar of the generic path (GroupedBar), a missing vwap or trade count (NULL), a
volume or trade count beyond its column's range, an empty or unencodable ticker or one with a NUL; a
repeated ticker or more than one stamp in the answer sends all of its bars that way.
"""

from __future__ import annotations

from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from tickstock_pipelines.loading.bars_store import Row, daily_rows
from tickstock_pipelines.resources.polygon.wire import WireBar

_PG_EPOCH_DAY = date(2000, 1, 1).toordinal()
_INT64_END = float(2**63)  # volume: int8 column; the per-row path fails beyond it, as before
_INT32_MAX = 2**31 - 1  # transactions: int4 column
_PRICES = ("open", "high", "low", "close")


def _record(length: int) -> np.dtype:
    """One COPY binary row with a ticker of `length` bytes: a field count, then (length, value) per field."""
    fields: list[tuple[str, str]] = [("fields", ">i2"), ("symbol_len", ">i4"), ("symbol", f"S{length}"),
                                     ("day_len", ">i4"), ("day", ">i4")]
    for name in _PRICES:
        fields += [(f"{name}_len", ">i4"), (name, ">f8")]
    fields += [("volume_len", ">i4"), ("volume", ">i8"), ("vwap_len", ">i4"), ("vwap", ">f8"),
               ("transactions_len", ">i4"), ("transactions", ">i4")]
    return np.dtype(fields)


@dataclass
class DayBlock:
    """Bars of one session for distinct symbols, as binary COPY rows (one record array per ticker length)."""

    day: date
    symbols: list[str]
    records: list[np.ndarray]

    def __len__(self) -> int:
        return len(self.symbols)

    def chunks(self) -> Iterator[bytes]:
        for records in self.records:
            yield records.tobytes()

    def without(self, taken: Container[str]) -> DayBlock:
        """The block less the symbols already sent for its session (a repeated key: the first wins)."""
        if not any(symbol in taken for symbol in self.symbols):
            return self
        records = [r[np.array([bytes(s).decode() not in taken for s in r["symbol"]], dtype=bool)]
                   for r in self.records]
        return DayBlock(self.day, [s for s in self.symbols if s not in taken], [r for r in records if len(r)])


def _rows(bars: Sequence[Any]) -> list[Row]:
    return [row for bar in bars for row in daily_rows(bar.ticker, (bar,))]


def pack_day_bars(bars: Sequence[Any],
                  wanted: Container[str] | None = None) -> tuple[DayBlock | None, list[Row]]:
    """The wanted bars of one grouped answer: the plain WireBars as a DayBlock, the others as Rows."""
    if wanted is not None:
        bars = [bar for bar in bars if bar.ticker in wanted]
    tickers = [bar.ticker for bar in bars]
    wire = [bar for bar in bars if type(bar) is WireBar]
    if not wire or len(set(tickers)) != len(tickers) or len({bar.epoch_ms for bar in wire}) != 1:
        return None, _rows(bars)
    try:
        encoded = [bar.ticker.encode() for bar in wire]
        trades = np.array([-1 if bar.transactions is None else bar.transactions for bar in wire],
                          dtype=np.int64)  # -1: None, per row as NULL
    except (UnicodeEncodeError, OverflowError):
        return None, _rows(bars)
    volume = np.rint(np.array([bar.volume for bar in wire], dtype=np.float64))
    vwap = np.array([bar.vwap for bar in wire], dtype=np.float64)  # None → NaN: per row, as NULL
    lengths = np.array([0 if b"\x00" in e else len(e) for e in encoded], dtype=np.int64)  # 0: per row
    plain = (~np.isnan(vwap) & (trades >= 0) & (trades <= _INT32_MAX) & (lengths > 0)
             & (volume < _INT64_END) & (volume >= -_INT64_END))
    prices = {name: np.array([getattr(bar, name) for bar in wire], dtype=np.float64) for name in _PRICES}
    day = wire[0].session_date
    symbols: list[str] = []
    groups: list[np.ndarray] = []
    for length in np.unique(lengths[plain]).tolist():
        picked = np.flatnonzero(plain & (lengths == length))
        records = np.empty(len(picked), dtype=_record(length))
        records["fields"], records["symbol_len"], records["day_len"] = 9, length, 4
        records["symbol"] = [encoded[i] for i in picked]
        records["day"] = day.toordinal() - _PG_EPOCH_DAY
        for name in _PRICES:
            records[f"{name}_len"], records[name] = 8, prices[name][picked]
        records["volume_len"], records["volume"] = 8, volume[picked].astype(np.int64)
        records["vwap_len"], records["vwap"] = 8, vwap[picked]
        records["transactions_len"], records["transactions"] = 4, trades[picked]
        symbols += [wire[i].ticker for i in picked]
        groups.append(records)
    rest = [bar for bar, ok in zip(wire, plain.tolist(), strict=True) if not ok]
    rest += [bar for bar in bars if type(bar) is not WireBar]
    return (DayBlock(day, symbols, groups) if symbols else None), _rows(rest)
