"""Sandbox bars: real NYSE sessions stamped like Polygon, completed sessions only, deterministic,
paginated, split-consistent, and sound (low <= open, close <= high; positive volume)."""

from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pytest
import requests

from tickstock_pipelines_tests.support import sandbox_fixtures
from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import SandboxServer

NY = ZoneInfo("America/New_York")


def _aggs(server: SandboxServer, ticker: str, timespan: str, start: str, end: str, **params) -> dict:
    path = f"/v2/aggs/ticker/{ticker}/range/1/{timespan}/{start}/{end}"
    return api_get(server.base_url, path, params).json()


def _ny(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(NY)


def _calendar(start: str) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():  # exchange_calendars 4.13 trips a pandas 3.1 deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        return xcals.get_calendar("XNYS", start=start, end="2026-12-31")


def _nyse_sessions(start: str, end: str) -> list[date]:
    return [s.date() for s in _calendar("2023-01-03").sessions_in_range(start, end)]


def test_day_bars_are_real_nyse_sessions_stamped_at_new_york_midnight(sandbox: SandboxServer) -> None:
    body = _aggs(sandbox, "AAPL", "day", "2025-11-01", "2025-12-31")
    stamps = [_ny(bar["t"]) for bar in body["results"]]
    assert all((s.hour, s.minute, s.second) == (0, 0, 0) for s in stamps)
    days = [s.date() for s in stamps]
    assert days == _nyse_sessions("2025-11-01", "2025-12-31")
    assert date(2025, 11, 27) not in days and date(2025, 12, 25) not in days  # Thanksgiving, Christmas
    assert date(2025, 11, 28) in days and date(2025, 12, 24) in days  # early closes are sessions
    assert body["resultsCount"] == body["queryCount"] == body["count"] == len(days)
    assert body["ticker"] == "AAPL" and body["adjusted"] is True and body["status"] == "OK"


def test_minute_bars_cover_the_regular_session_and_honour_early_closes(sandbox: SandboxServer) -> None:
    full = _aggs(sandbox, "MSFT", "minute", "2025-11-26", "2025-11-26")["results"]
    assert len(full) == 390
    assert _ny(full[0]["t"]).time().isoformat() == "09:30:00"
    assert _ny(full[-1]["t"]).time().isoformat() == "15:59:00"
    early = _aggs(sandbox, "MSFT", "minute", "2025-11-28", "2025-11-28")["results"]
    assert len(early) == 210 and _ny(early[-1]["t"]).time().isoformat() == "12:59:00"  # closes at 13:00 ET
    assert all(b["t"] - a["t"] == 60_000 for a, b in zip(early, early[1:], strict=False))
    assert _aggs(sandbox, "MSFT", "minute", "2025-11-27", "2025-11-27")["resultsCount"] == 0


def test_minute_bars_add_up_to_the_day_bar(sandbox: SandboxServer) -> None:
    [day] = _aggs(sandbox, "NVDA", "day", "2025-12-10", "2025-12-10")["results"]
    minutes = _aggs(sandbox, "NVDA", "minute", "2025-12-10", "2025-12-10")["results"]
    assert max(m["h"] for m in minutes) == pytest.approx(day["h"], abs=1e-3)
    assert min(m["l"] for m in minutes) == pytest.approx(day["l"], abs=1e-3)
    assert minutes[0]["o"] == pytest.approx(day["o"], abs=1e-3)
    assert minutes[-1]["c"] == pytest.approx(day["c"], abs=1e-3)
    assert sum(m["v"] for m in minutes) == pytest.approx(day["v"], rel=1e-6)
    assert sum(m["n"] for m in minutes) == day["n"]


def test_an_incomplete_session_is_never_served(sandbox: SandboxServer) -> None:
    sandbox.configure(now="2025-11-28T17:59:00Z")  # 12:59 ET: the early close (13:00) is not yet past
    days = [_ny(b["t"]).date() for b in _aggs(sandbox, "AAPL", "day", "2025-11-20", "2026-01-31")["results"]]
    assert days[-1] == date(2025, 11, 26)
    assert _aggs(sandbox, "AAPL", "minute", "2025-11-28", "2025-11-28")["resultsCount"] == 0
    grouped = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-11-28").json()
    assert grouped["resultsCount"] == 0 and "results" not in grouped
    sandbox.configure(now="2025-11-28T18:00:00Z")  # 13:00 ET: now it is complete
    days = [_ny(b["t"]).date() for b in _aggs(sandbox, "AAPL", "day", "2025-11-20", "2026-01-31")["results"]]
    assert days[-1] == date(2025, 11, 28)
    assert _aggs(sandbox, "AAPL", "minute", "2025-11-28", "2025-11-28")["resultsCount"] == 210


def test_without_a_fixed_now_there_is_no_bar_for_today_or_later() -> None:
    with SandboxServer() as live:
        today = datetime.now(NY).date()
        end = (today + timedelta(days=30)).isoformat()
        bars = _aggs(live, "SPY", "day", (today - timedelta(days=10)).isoformat(), end)["results"]
        newest = _ny(bars[-1]["t"]).date()
        calendar = _calendar((today - timedelta(days=20)).isoformat())
        close = calendar.session_close(newest.isoformat()) if newest == today else None
        assert newest < today or (close is not None and close <= datetime.now(UTC))


def test_bars_are_the_same_whatever_the_range(sandbox: SandboxServer) -> None:
    wide = {b["t"]: b for b in _aggs(sandbox, "JPM", "day", "2024-01-01", "2025-12-31")["results"]}
    narrow = _aggs(sandbox, "JPM", "day", "2025-06-02", "2025-06-06")["results"]
    assert len(narrow) == 5 and all(wide[b["t"]] == b for b in narrow)
    ms = _aggs(sandbox, "JPM", "day", str(narrow[1]["t"]), str(narrow[3]["t"]))["results"]
    assert ms == narrow[1:4]  # from/to as Unix millisecond timestamps
    with SandboxServer(now=sandbox_fixtures.SANDBOX_NOW) as other:
        assert _aggs(other, "JPM", "day", "2025-06-02", "2025-06-06")["results"] == narrow


def test_aggregates_paginate_with_absolute_next_urls(sandbox: SandboxServer) -> None:
    whole = _aggs(sandbox, "KO", "day", "2024-01-01", "2025-12-31")["results"]
    assert len(whole) == len(_nyse_sessions("2024-01-01", "2025-12-31"))
    body = _aggs(sandbox, "KO", "day", "2024-01-01", "2025-12-31", limit=100)
    pages = [body]
    while "next_url" in pages[-1]:
        assert pages[-1]["next_url"].startswith(f"{sandbox.base_url}/v2/aggs/ticker/KO/range/1/day/")
        assert pages[-1]["resultsCount"] == 100
        pages.append(api_get(sandbox.base_url, pages[-1]["next_url"]).json())
    assert [b for p in pages for b in p["results"]] == whole and len(pages) == 6
    newest_first = _aggs(sandbox, "KO", "day", "2024-01-01", "2025-12-31", sort="desc", limit=300)
    rest = api_get(sandbox.base_url, newest_first["next_url"]).json()
    assert newest_first["results"] + rest["results"] == whole[::-1] and "next_url" not in rest


def test_aggregate_limit_defaults_to_5000_and_is_capped_at_50000(sandbox: SandboxServer) -> None:
    default = _aggs(sandbox, "IBM", "minute", "2025-09-01", "2025-10-31")
    assert default["resultsCount"] == 5000 and "next_url" in default
    capped = _aggs(sandbox, "IBM", "minute", "2025-01-01", "2025-08-31", limit=100_000)
    assert capped["resultsCount"] == 50_000 and "next_url" in capped


def test_unknown_ticker_aggregates_are_ok_and_empty(sandbox: SandboxServer) -> None:
    body = _aggs(sandbox, "NOPE", "day", "2025-01-01", "2025-12-31")
    assert body["status"] == "OK" and body["resultsCount"] == 0 and body["queryCount"] == 0
    assert "results" not in body and "next_url" not in body


def test_split_history_is_adjusted_only_when_asked(sandbox: SandboxServer) -> None:
    adjusted = _aggs(sandbox, "NVDA", "day", "2024-06-06", "2024-06-11")["results"]
    raw = _aggs(sandbox, "NVDA", "day", "2024-06-06", "2024-06-11", adjusted="false")["results"]
    assert [_ny(b["t"]).date() for b in raw] == [date(2024, 6, d) for d in (6, 7, 10, 11)]
    before, after = raw[1]["c"], raw[2]["o"]
    assert 8 < before / after < 12  # the 10-for-1 split of 2024-06-10 in raw prices
    assert 0.8 < adjusted[1]["c"] / adjusted[2]["o"] < 1.2  # continuous once adjusted
    assert raw[1]["c"] == pytest.approx(adjusted[1]["c"] * 10, rel=1e-4)
    assert raw[1]["v"] == pytest.approx(adjusted[1]["v"] / 10, rel=1e-4)
    assert raw[2:] == adjusted[2:]


def test_the_splits_endpoint_lists_real_splits_and_pages(sandbox: SandboxServer) -> None:
    nvda = api_get(sandbox.base_url, "/v3/reference/splits", {"ticker": "NVDA"}).json()["results"]
    assert {(s["execution_date"], s["split_from"], s["split_to"]) for s in nvda} >= {("2024-06-10", 1, 10)}
    recent = api_get(sandbox.base_url, "/v3/reference/splits", {"execution_date.gte": "2024-01-01"}).json()
    assert {s["ticker"] for s in recent["results"]} >= {"NVDA", "AVGO", "WMT"}
    assert all(s["execution_date"] >= "2024-01-01" for s in recent["results"])
    first = api_get(sandbox.base_url, "/v3/reference/splits", {"limit": 2}).json()
    assert len(first["results"]) == 2 and first["next_url"].startswith(sandbox.base_url)
    second = api_get(sandbox.base_url, first["next_url"]).json()
    assert second["results"][0]["execution_date"] <= first["results"][-1]["execution_date"]  # newest first
    assert not {s["id"] for s in first["results"]} & {s["id"] for s in second["results"]}


def test_a_new_split_changes_adjusted_history_only(sandbox: SandboxServer) -> None:
    before_adj = _aggs(sandbox, "COST", "day", "2025-12-01", "2025-12-31")["results"]
    before_raw = _aggs(sandbox, "COST", "day", "2025-12-01", "2025-12-31", adjusted="false")["results"]
    split = {"ticker": "COST", "execution_date": "2025-12-15", "split_from": 1, "split_to": 4}
    assert requests.post(f"{sandbox.base_url}/_sandbox/splits", json=split, timeout=5).status_code == 200
    after_adj = _aggs(sandbox, "COST", "day", "2025-12-01", "2025-12-31")["results"]
    after_raw = _aggs(sandbox, "COST", "day", "2025-12-01", "2025-12-31", adjusted="false")["results"]
    cut = next(i for i, b in enumerate(before_raw) if _ny(b["t"]).date() >= date(2025, 12, 15))
    assert after_raw[:cut] == before_raw[:cut]  # what traded before the split does not change
    assert after_raw[cut]["c"] == pytest.approx(before_raw[cut]["c"] / 4, rel=1e-4)  # new shares
    assert after_adj[0]["c"] == pytest.approx(before_adj[0]["c"] / 4, rel=1e-4)  # history re-adjusted
    assert after_adj[0]["v"] == pytest.approx(before_adj[0]["v"] * 4, rel=1e-4)
    listed = api_get(sandbox.base_url, "/v3/reference/splits", {"ticker": "COST"}).json()["results"]
    assert [(s["execution_date"], s["split_to"]) for s in listed] == [("2025-12-15", 4)]
    grouped = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-01").json()
    assert next(r for r in grouped["results"] if r["T"] == "COST")["c"] == after_adj[0]["c"]


def test_grouped_daily_holds_the_whole_universe_in_one_call(sandbox: SandboxServer) -> None:
    body = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-10").json()
    tickers = {r["T"] for r in body["results"]}
    day = date(2025, 12, 10)
    trading = {s.ticker for s in sandbox.state.securities.values()
               if s.list_date <= day and (s.delisted is None or s.delisted > day)}
    assert tickers == trading and len(tickers) > 850
    assert {"AAPL", "BRK.B", "SPY", "TLT", "GLD", "VXX", "ASML"} <= tickers
    assert body["resultsCount"] == body["queryCount"] == body["count"] == len(body["results"])
    apple = next(r for r in body["results"] if r["T"] == "AAPL")
    [day] = _aggs(sandbox, "AAPL", "day", "2025-12-10", "2025-12-10")["results"]
    assert {k: v for k, v in apple.items() if k != "T"} == day
    holiday = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-25").json()
    assert holiday["status"] == "OK" and holiday["resultsCount"] == 0 and "results" not in holiday


def test_bars_are_sound_and_plausible(sandbox: SandboxServer) -> None:
    for ticker in ("AAPL", "BRK.B", "SPY", "SGOV", "TQQQ", "ASML", "NEM"):
        bars = _aggs(sandbox, ticker, "day", "2025-01-01", "2025-12-31")["results"]
        assert len(bars) == 250
        for b in bars:
            assert b["l"] <= min(b["o"], b["c"]) <= max(b["o"], b["c"]) <= b["h"]
            assert b["l"] <= b["vw"] <= b["h"] and b["v"] > 0 and b["n"] >= 1
    reference_close = _aggs(sandbox, "AAPL", "day", "2026-08-21", "2026-08-21")
    assert reference_close["resultsCount"] == 0  # after SANDBOX_NOW: not served
    sandbox.configure(now="2026-08-22T12:00:00Z")
    [anchor] = _aggs(sandbox, "AAPL", "day", "2026-08-21", "2026-08-21")["results"]
    assert anchor["c"] == pytest.approx(309.35, abs=0.01)  # the published price of the financials snapshot
    spy = _aggs(sandbox, "SPY", "day", "2025-12-01", "2025-12-31")["results"]
    small = _aggs(sandbox, "MJ", "day", "2025-12-01", "2025-12-31")["results"]
    assert min(b["v"] for b in spy) > 10 * max(b["v"] for b in small)
