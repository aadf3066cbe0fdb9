"""Parsing and validation: no bar breaking an OHLCV invariant is ever returned as valid, and session
dates are New York dates across daylight-saving changes."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from tickstock_pipelines.resources.polygon import Bar, GroupedBar, InvalidBar, TickerDetails, TickerRef
from tickstock_pipelines.resources.polygon.models import parse_bar

SAMPLES = Path(__file__).parents[1] / "samples"
T0 = 1763960400000  # 2025-11-24 00:00 New York
prices = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64), st.integers(-10, 10**6))


@given(o=prices, h=prices, lo=prices, c=prices, v=prices)
def test_a_bar_is_valid_exactly_when_its_invariants_hold(o: float, h: float, lo: float, c: float,
                                                         v: float) -> None:
    parsed = parse_bar({"t": T0, "o": o, "h": h, "l": lo, "c": c, "v": v}, "AAPL")
    values = [float(x) for x in (o, h, lo, c, v)]
    sound = (all(math.isfinite(x) for x in values) and v >= 0 and lo <= h
             and lo <= o <= h and lo <= c <= h)
    if sound:
        assert isinstance(parsed, Bar)
        assert (parsed.open, parsed.high, parsed.low, parsed.close, parsed.volume) == tuple(values)
    else:
        assert isinstance(parsed, InvalidBar)
        assert (parsed.ticker, parsed.date) == ("AAPL", date(2025, 11, 24)) and parsed.reason


def test_session_date_is_the_new_york_date_across_dst() -> None:
    winter = parse_bar({"t": 1736139600000, "o": 1, "h": 1, "l": 1, "c": 1, "v": 0}, "X")  # 2025-01-06 05:00Z
    summer = parse_bar({"t": 1751256000000, "o": 1, "h": 1, "l": 1, "c": 1, "v": 0}, "X")  # 2025-06-30 04:00Z
    assert isinstance(winter, Bar) and isinstance(summer, Bar)
    assert winter.timestamp == datetime(2025, 1, 6, 5, tzinfo=UTC)
    assert winter.session_date == date(2025, 1, 6)
    assert summer.timestamp == datetime(2025, 6, 30, 4, tzinfo=UTC)
    assert summer.session_date == date(2025, 6, 30)
    late_minute = parse_bar({"t": 1751313540000, "o": 1, "h": 1, "l": 1, "c": 1, "v": 0}, "X")  # 15:59 NY
    assert isinstance(late_minute, Bar) and late_minute.session_date == date(2025, 6, 30)


def test_field_names_and_wire_names_both_build_a_bar() -> None:
    by_name = Bar(timestamp=datetime(2025, 6, 30, 4, tzinfo=UTC), open=1, high=2, low=1, close=2, volume=5)
    by_wire = Bar.model_validate({"t": 1751256000000, "o": 1, "h": 2, "l": 1, "c": 2, "v": 5})
    assert by_name == by_wire and by_name.vwap is None and by_name.transactions is None


def test_bars_without_a_readable_time_are_rejected_with_no_date() -> None:
    ohlcv = {"o": 1, "h": 1, "l": 1, "c": 1, "v": 1}
    for raw in (ohlcv, {"t": "soon", **ohlcv}, [1, 2, 3]):
        parsed = parse_bar(raw, "AAPL")
        assert isinstance(parsed, InvalidBar) and parsed.date is None and parsed.ticker == "AAPL"


def test_documented_samples_parse() -> None:
    details = json.loads((SAMPLES / "ticker_details.json").read_text())["results"]
    parsed = TickerDetails.model_validate(details)
    assert parsed.ticker == details["ticker"] and parsed.market_cap == details["market_cap"]
    assert parsed.list_date == date.fromisoformat(details["list_date"])
    for item in json.loads((SAMPLES / "tickers_list.json").read_text())["results"]:
        assert TickerRef.model_validate(item).ticker == item["ticker"]
    for item in json.loads((SAMPLES / "grouped_daily.json").read_text())["results"]:
        parsed_bar = parse_bar(item, item["T"], GroupedBar)
        assert isinstance(parsed_bar, GroupedBar) and parsed_bar.ticker == item["T"]
