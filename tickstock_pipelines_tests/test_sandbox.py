"""The sandbox speaks Polygon's wire format: our own client (the same code as for the real API) reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import requests

from tickstock_pipelines.resources.polygon import PolygonClient
from tickstock_pipelines.sandbox import SANDBOX_API_KEY, SandboxServer

# Friday 2025-11-28 was an early close (13:00 ET = 18:00 UTC); 17:00 UTC is before it.
BEFORE_EARLY_CLOSE = datetime(2025, 11, 28, 17, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(now=BEFORE_EARLY_CLOSE) as server:
        yield server


def _client(server: SandboxServer) -> PolygonClient:
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=server.base_url, limiter=None, sandbox=True)


def test_ticker_list_pages_through_the_whole_sp500(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    symbols = [t.ticker for t in client.list_tickers(ticker_type="CS")]
    assert len(symbols) == 503 and len(set(symbols)) == 503
    assert client.calls["tickers"] == 1  # 503 fits one page of 1000
    first = requests.get(f"{sandbox.base_url}/v3/reference/tickers", params={"limit": 500},
                         headers={"Authorization": "Bearer x"}, timeout=5).json()
    assert first["next_url"].startswith(sandbox.base_url + "/v3/reference/tickers?")
    last = requests.get(first["next_url"], headers={"Authorization": "Bearer x"}, timeout=5).json()
    assert "next_url" not in last and len(last["results"]) == 3


def test_details_keep_missing_market_cap_missing_and_404_unknown(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    apple = client.ticker_details("AAPL")
    assert apple is not None and apple.type == "CS" and apple.market_cap and apple.market_cap > 1e12
    berkshire = client.ticker_details("BRK.B")
    assert berkshire is not None and berkshire.market_cap is None
    assert client.ticker_details("NOPE") is None


def test_day_bars_only_on_completed_nyse_sessions_dated_in_new_york(sandbox: SandboxServer) -> None:
    pages = list(_client(sandbox).aggregates("AAPL", "day", date(2025, 11, 20), date(2025, 11, 30)))
    days = [b.session_date for p in pages for b in p.bars]
    # 27th is Thanksgiving; the 28th closes early at 13:00 ET, not yet past at `now`.
    assert days == [date(2025, 11, d) for d in (20, 21, 24, 25, 26)]
    assert all(not p.rejected for p in pages)


def test_bars_are_deterministic_across_ranges_and_paginate(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    wide = {b.session_date: b for p in client.aggregates("MSFT", "day", date(2025, 1, 1), date(2025, 11, 26))
            for b in p.bars}
    narrow = {b.session_date: b for p in client.aggregates("MSFT", "day", date(2025, 6, 2), date(2025, 6, 6))
              for b in p.bars}
    assert narrow and all(wide[d] == bar for d, bar in narrow.items())
    response = requests.get(f"{sandbox.base_url}/v2/aggs/ticker/MSFT/range/1/day/2025-01-01/2025-11-26",
                            params={"limit": 100}, headers={"Authorization": "Bearer x"}, timeout=5).json()
    assert response["resultsCount"] == 100 and "next_url" in response


def test_grouped_daily_returns_the_whole_market_in_one_call(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    page = client.grouped_daily(date(2025, 11, 26))
    assert len(page.bars) == 503 and client.calls["grouped_daily"] == 1
    assert client.grouped_daily(date(2025, 11, 27)).bars == []  # Thanksgiving: no results key at all


def test_requests_without_a_bearer_key_are_refused(sandbox: SandboxServer) -> None:
    response = requests.get(f"{sandbox.base_url}/v3/reference/tickers/AAPL", timeout=5)
    assert response.status_code == 401 and response.json()["status"] == "ERROR"
