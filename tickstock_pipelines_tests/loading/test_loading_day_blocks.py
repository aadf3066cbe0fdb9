"""Grouped answers packed by numpy (loading/day_blocks.py) store exactly what the per-row path stores: the
same rows with the same float bits and NULLs, the same counts per symbol, on the straight COPY and the staging
upsert alike, the first of a repeated key winning; what the per-row path refuses, it still refuses."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tickstock_pipelines.loading.bars_store import Row, WriteCounts, daily_rows, upsert_bars
from tickstock_pipelines.loading.day_blocks import DayBlock, pack_day_bars
from tickstock_pipelines.resources.polygon import GroupedPage
from tickstock_pipelines.resources.polygon.wire import WireBar, decode, sort_bars
from tickstock_pipelines_tests.support.services import create_database

T0 = 1763960400000  # 2025-11-24 00:00 New York
T1 = T0 + 86_400_000  # 2025-11-25
TICKERS = ["A", "KO", "IBM", "AAPL", "GOOGL", "BRK.B", "ZQS1234", "ÉTF", "X" * 10, "MSFT"]
numbers = st.floats(0, 1e6) | st.integers(0, 10**6) | st.sampled_from([0.1 + 0.2, 5e-324, 123.456789012345])


@st.composite
def raw_bars(draw: st.DrawFn, stamps: list[int]) -> dict[str, Any]:
    """A sound bar as Polygon sends it; vwap or trades sometimes absent, volumes and trades sometimes huge."""
    low, mid, high = sorted(draw(st.lists(numbers, min_size=3, max_size=3)))
    raw: dict[str, Any] = {"T": draw(st.sampled_from(TICKERS)), "t": draw(st.sampled_from(stamps)),
                           "o": mid, "h": high, "l": low, "c": draw(st.sampled_from([low, mid, high])),
                           "v": draw(numbers | st.sampled_from([2.5, 3.5, 2**62, 2.0**63, 1e19]))}
    if draw(st.integers(0, 4)):
        raw["vw"] = draw(numbers)
    if draw(st.integers(0, 4)):
        raw["n"] = draw(st.integers(0, 10**6) | st.sampled_from([2**31 - 1, 2**31, 2**40]))
    return raw


def _page(bars: list[dict[str, Any]]) -> GroupedPage:
    page = GroupedPage()
    body = json.dumps({"status": "OK", "results": bars}).encode()
    sort_bars((decode(body) or json.loads(body))["results"], None, page)
    return page


def _per_row(pages: list[GroupedPage]) -> list[Row]:
    return [row for page in pages for bar in page.bars for row in daily_rows(bar.ticker, (bar,))]


def _packed(pages: list[GroupedPage]) -> Iterator[Row | DayBlock]:
    for page in pages:
        block, rows = pack_day_bars(page.bars)
        yield from [block, *rows] if block else rows


def _store(engine: sa.Engine, rows: Any, existing: list[Row]) -> tuple[Any, ...]:
    """Rows stored and counts after one upsert over `existing` (rolled back after), or the error's type."""
    with engine.connect() as conn, conn.begin() as transaction:
        upsert_bars(conn, "day", existing)
        try:
            with conn.begin_nested():
                counts = upsert_bars(conn, "day", rows)
        except Exception as exc:  # both paths must fail alike
            transaction.rollback()
            return (type(exc).__name__,)
        stored = conn.execute(sa.text("SELECT * FROM ohlcv_daily ORDER BY symbol, date")).all()
        transaction.rollback()
    return stored, _counts(counts)


def _counts(counts: WriteCounts) -> tuple[Any, ...]:
    return (counts.inserted, counts.updated, counts.unchanged,
            {s: (c.inserted, c.updated, c.unchanged) for s, c in counts.by_symbol.items()})


@pytest.fixture(scope="module")
def engine(pg_template_uri: str) -> sa.Engine:
    """One database for every example: each upsert is rolled back."""
    return sa.create_engine(create_database(pg_template_uri, f"t_{os.getpid()}_day_blocks"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=st.lists(st.lists(raw_bars([T0]), max_size=12), min_size=1, max_size=3),
       odd=st.lists(raw_bars([T0, T1]), max_size=3), existing=st.integers(0, 6))
def test_packed_answers_store_exactly_what_the_per_row_path_stores(
        engine: sa.Engine, answers: list[list[dict[str, Any]]], odd: list[dict[str, Any]],
        existing: int) -> None:
    """Answers of one session (tickers repeated within and across them), one with more than one stamp, and
    some rows already stored (the staging upsert path, where some rows change and some do not)."""
    pages = [_page(bars) for bars in [*answers, odd]]
    storable = [r for r in _per_row(pages) if r[6] < 2**63 and (r[8] or 0) < 2**31][:existing]
    before = [(*r[:2], r[2] + 1, *r[3:]) for r in storable[::2]] + storable[1::2]  # changed, unchanged
    old = _store(engine, _per_row(pages), before)
    new = _store(engine, _packed(pages), before)
    assert new == old


def test_plain_bars_are_packed_and_the_others_go_per_row() -> None:
    """What the block takes and leaves: a missing vwap or trade count, an int4/int8 overflow go per row."""
    bars = [{"T": t, "t": T0, "o": 1, "h": 2, "l": 0.5, "c": 1.5, "v": 10, "vw": 1.2, "n": 3}
            for t in ("KO", "AAPL", "IBM", "NOVW", "NON", "BIGN", "BIGV")]
    del bars[3]["vw"]
    del bars[4]["n"]
    bars[5]["n"], bars[6]["v"] = 2**31, 2.0**63
    page = _page(bars)
    assert all(type(b) is WireBar for b in page.bars)
    block, rows = pack_day_bars(page.bars, wanted={"KO", "AAPL", "NOVW", "NON", "BIGN", "BIGV"})
    assert block is not None and block.day == date(2025, 11, 24)
    assert sorted(block.symbols) == ["AAPL", "KO"] and [len(r) for r in block.records] == [1, 1]
    assert sorted(r[0] for r in rows) == ["BIGN", "BIGV", "NON", "NOVW"]
    repeated, rows = pack_day_bars(_page([bars[0], bars[0]]).bars)
    assert repeated is None and [r[0] for r in rows] == ["KO", "KO"]
    two_stamps, rows = pack_day_bars(_page([bars[0], {**bars[1], "t": T1}]).bars)
    assert two_stamps is None and len(rows) == 2
