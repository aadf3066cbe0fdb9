"""Grouped-daily answers decoded in C (wire.py) say exactly what the generic path says (json.loads, then
GroupedBar bar by bar): the same valid bars with the same values, the same rejections with the same
reasons, whatever the body holds."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tickstock_pipelines.resources.polygon import GroupedBar, GroupedPage
from tickstock_pipelines.resources.polygon.models import parse_bar, ticker_of
from tickstock_pipelines.resources.polygon.wire import WireBar, decode, sort_bars
from tickstock_pipelines_tests.support.fake_polygon import FakePolygon, bar, make_client

T0 = 1763960400000  # 2025-11-24 00:00 New York
PATH = "/v2/aggs/grouped/locale/us/market/stocks/2025-11-24"
odd = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-10, 10**6),
                st.sampled_from([-1, -0.5, 0, 1.5, 10**20, "10", None, True, [1]]))


@st.composite
def raw_bars(draw: st.DrawFn) -> dict[str, Any]:
    """A sound bar (low ≤ open, close ≤ high) as Polygon sends it, with some of its fields made odd."""
    low, mid, high = sorted(draw(st.lists(st.floats(0, 1e6) | st.integers(0, 10**6), min_size=3, max_size=3)))
    raw: dict[str, Any] = {"T": "AAPL", "t": T0, "o": mid, "h": high, "l": low,
                           "c": draw(st.sampled_from([low, high])),
                           "v": draw(st.integers(0, 10**9) | st.floats(0, 1e9))}
    raw |= draw(st.dictionaries(st.sampled_from(["vw", "n"]), st.integers(0, 10**6) | st.floats(0, 1e6)))
    for key in draw(st.lists(st.sampled_from(["T", "t", "o", "h", "l", "c", "v", "vw", "n"]), max_size=2)):
        raw[key] = draw(odd | st.sampled_from({"T": ["MSFT", "", 7], "t": [T0 + 0.5, 10**17, 10**20, -1, "x"]}
                                              .get(key, [-3])))
    if draw(st.booleans()):
        extra = st.dictionaries(st.sampled_from(["open", "ticker", "otc"]), odd | st.sampled_from(["KO", ""]))
        raw |= draw(extra)
    if draw(st.integers(0, 9)) == 0:
        del raw[draw(st.sampled_from(["T", "t", "o", "h", "l", "c", "v"]))]
    return raw


def _generic(body: bytes, tickers: set[str] | None) -> GroupedPage:
    """What the client did before wire.py, bar by bar."""
    page = GroupedPage()
    for raw in json.loads(body)["results"]:
        ticker = ticker_of(raw, "?")
        if tickers is None or ticker in tickers:
            parsed = parse_bar(raw, ticker, GroupedBar)
            (page.bars if isinstance(parsed, GroupedBar) else page.rejected).append(parsed)
    return page


def _fast(body: bytes, tickers: set[str] | None) -> GroupedPage:
    page = GroupedPage()
    sort_bars((decode(body) or json.loads(body))["results"], tickers, page)
    return page


def _values(b: Any) -> tuple[Any, ...]:
    return (b.ticker, b.timestamp, b.session_date, b.open, b.high, b.low, b.close, b.volume, b.vwap,
            b.transactions)


@settings(max_examples=400)
@given(bars=st.lists(raw_bars(), max_size=5), wanted=st.sampled_from([None, {"AAPL"}, {"AAPL", "?"}]))
def test_the_fast_path_accepts_and_rejects_exactly_what_grouped_bar_does(bars: list[dict[str, Any]],
                                                                        wanted: set[str] | None) -> None:
    body = json.dumps({"status": "OK", "results": bars}).encode()
    fast, generic = _fast(body, wanted), _generic(body, wanted)
    assert [_values(b) for b in fast.bars] == [_values(b) for b in generic.bars]
    assert [type(v) for b in fast.bars for v in _values(b)] == [
        type(v) for b in generic.bars for v in _values(b)]
    assert fast.rejected == generic.rejected


def test_a_plain_answer_is_decoded_in_c_and_a_bar_with_long_names_is_not(fake: FakePolygon) -> None:
    plain = [{"T": t, **bar(T0)} for t in ("AAPL", "MSFT")]
    broken = {"T": "BAD", **bar(T0, h=1)}
    fake.routes[PATH] = lambda q: (200, {"status": "OK", "results": [*plain, broken]}, {})
    page = make_client(fake.base_url).grouped_daily(date(2025, 11, 24))
    assert [type(b) for b in page.bars] == [WireBar, WireBar]
    assert [(b.ticker, b.session_date, b.open, b.transactions) for b in page.bars] == [
        ("AAPL", date(2025, 11, 24), 10.0, 12), ("MSFT", date(2025, 11, 24), 10.0, 12)]
    assert [(r.ticker, r.date, r.reason) for r in page.rejected] == [("BAD", date(2025, 11, 24),
                                                                     "high 1.0 < low 9.0")]
    long_name = {**plain[0], "open": 10.5}  # GroupedBar reads `open` before `o`
    fake.routes[PATH] = lambda q: (200, {"results": [long_name]}, {})
    [long_names] = make_client(fake.base_url).grouped_daily(date(2025, 11, 24)).bars
    assert type(long_names) is GroupedBar and long_names.open == 10.5
