"""The Polygon client's transport over real HTTP against a small Polygon-shaped server on 127.0.0.1:
pagination, limits, parameters, 404s and other client errors. Retries and malformed bodies are in
test_polygon_client_retries.py; faults the sandbox injects in test_polygon_client_sandbox.py; the budget
and redaction have their own files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tickstock_pipelines.resources.polygon import (
    PolygonClient,
    PolygonError,
    PolygonHTTPError,
    PolygonRetriesExhausted,
)
from tickstock_pipelines_tests.support.fake_polygon import (
    CANARY,
    DETAILS_OK,
    FakePolygon,
    Reply,
    bar,
    make_client,
)

MIDNIGHT_NY_2025_11_24 = 1763960400000  # 2025-11-24 00:00 America/New_York, in ms
SAMPLES = Path(__file__).parents[1] / "samples"


# -- pagination and parameters -----------------------------------------------------------------------
def test_list_follows_absolute_next_url_without_apikey_and_copes_with_missing_results(
        fake: FakePolygon) -> None:
    def tickers(query: dict) -> Reply:
        if query.get("cursor") == "2":
            return 200, {"status": "OK", "request_id": "b", "count": 0}, {}  # last page: no results key
        if query.get("cursor") == "1":
            return 200, {"status": "OK", "results": [{"ticker": "MSFT"}, {"ticker": "NVDA"}],
                         "next_url": f"{fake.base_url}/v3/reference/tickers?cursor=2&apiKey={CANARY}"}, {}
        return 200, {"status": "OK", "results": [{"ticker": "AAPL", "type": "CS", "active": True}],
                     "next_url": f"{fake.base_url}/v3/reference/tickers?cursor=1"}, {}

    fake.routes["/v3/reference/tickers"] = tickers
    client = make_client(fake.base_url)
    assert [t.ticker for t in client.list_tickers(ticker_type="CS")] == ["AAPL", "MSFT", "NVDA"]
    first, *rest = fake.requests
    assert first["query"] == {"market": "stocks", "active": "true", "limit": "1000", "type": "CS"}
    assert [r["query"] for r in rest] == [{"cursor": "1"}, {"cursor": "2"}]  # next_url carries the rest
    assert all(r["auth"] == f"Bearer {CANARY}" for r in fake.requests)
    assert all(CANARY not in r["raw"] and "apikey" not in r["raw"].lower() for r in fake.requests)
    assert client.calls == {"tickers": 3}


def test_omitted_results_on_the_only_page_is_empty(fake: FakePolygon) -> None:
    fake.routes["/v2/aggs/ticker/NEWCO/range/1/day/2025-11-24/2025-11-25"] = lambda q: (
        200, {"ticker": "NEWCO", "queryCount": 0, "resultsCount": 0, "adjusted": True, "status": "OK"}, {})
    fake.routes["/v3/reference/splits"] = lambda q: (200, {"status": "OK", "request_id": "x"}, {})
    client = make_client(fake.base_url)
    pages = list(client.aggregates("NEWCO", "day", date(2025, 11, 24), date(2025, 11, 25)))
    assert [(p.bars, p.rejected) for p in pages] == [([], [])]
    assert list(client.splits(ticker="NEWCO")) == []


def test_documented_sample_next_url_on_api_polygon_io_is_followed_on_our_own_host(fake: FakePolygon) -> None:
    """The bearer key must go only to the configured host, whatever host a next_url names."""
    sample = json.loads((SAMPLES / "aggs_day.json").read_text())
    assert sample["next_url"].startswith("https://api.polygon.io/")
    second_path = urlsplit(sample["next_url"]).path
    fake.routes["/v2/aggs/ticker/AAPL/range/1/day/2005-04-01/2005-04-06"] = lambda q: (200, sample, {})
    fake.routes[second_path] = lambda q: (200, {"ticker": "AAPL", "status": "OK", "resultsCount": 0}, {})
    client = make_client(fake.base_url)
    pages = list(client.aggregates("AAPL", "day", date(2005, 4, 1), date(2005, 4, 6)))
    assert [len(p.bars) for p in pages] == [2, 0]
    assert fake.paths()[1] == second_path
    assert fake.requests[1]["query"] == {"cursor": "bGltaXQ9MiZzb3J0PWFzYw"}


def test_limits_and_parameters_sent(fake: FakePolygon) -> None:
    empty: Reply = (200, {"status": "OK", "results": []}, {})
    aggs_path = "/v2/aggs/ticker/BRK.B/range/1/minute/2025-11-24/2025-11-25"
    for path in (aggs_path, "/v3/reference/splits", "/v3/reference/tickers",
                 "/v2/aggs/grouped/locale/us/market/stocks/2025-11-24"):
        fake.routes[path] = lambda q: empty
    client = make_client(fake.base_url)
    list(client.aggregates("BRK.B", "minute", date(2025, 11, 24), date(2025, 11, 25), adjusted=False))
    list(client.splits(ticker="AAPL", execution_date_gte=date(2020, 1, 1)))
    list(client.list_tickers(market="stocks", ticker_type="ETF", active=False))
    client.grouped_daily(date(2025, 11, 24))
    queries = {r["path"]: r["query"] for r in fake.requests}
    assert queries[aggs_path] == {"adjusted": "false", "sort": "asc", "limit": "50000"}
    assert queries["/v3/reference/splits"] == {"limit": "1000", "ticker": "AAPL",
                                               "execution_date.gte": "2020-01-01"}
    assert queries["/v3/reference/tickers"] == {"market": "stocks", "active": "false", "limit": "1000",
                                                "type": "ETF"}
    assert queries["/v2/aggs/grouped/locale/us/market/stocks/2025-11-24"] == {"adjusted": "true"}
    assert client.calls == {"aggs": 1, "splits": 1, "tickers": 1, "grouped_daily": 1}


def test_aggregates_stream_one_page_at_a_time(fake: FakePolygon) -> None:
    path = "/v2/aggs/ticker/AAPL/range/1/day/2025-11-24/2025-11-26"

    def aggs(query: dict) -> Reply:
        day = int(query.get("cursor", 0))
        body: dict[str, Any] = {"status": "OK", "results": [bar(MIDNIGHT_NY_2025_11_24 + day * 86_400_000)]}
        if day < 2:
            body["next_url"] = f"{fake.base_url}{path}?cursor={day + 1}"
        return 200, body, {}

    fake.routes[path] = aggs
    pages = make_client(fake.base_url).aggregates("AAPL", "day", date(2025, 11, 24), date(2025, 11, 26))
    first = next(pages)
    assert len(fake.requests) == 1  # page 2 is not fetched before page 1 is consumed
    rest = list(pages)
    assert [b.session_date for p in (first, *rest) for b in p.bars] == [
        date(2025, 11, 24), date(2025, 11, 25), date(2025, 11, 26)]
    assert len(fake.requests) == 3


def test_aggregates_return_valid_bars_and_report_invalid_ones_by_ticker_and_date(fake: FakePolygon) -> None:
    day = 86_400_000
    fake.routes["/v2/aggs/ticker/AAPL/range/1/day/2025-11-24/2025-11-28"] = lambda q: (200, {
        "ticker": "AAPL", "status": "OK", "results": [
            bar(MIDNIGHT_NY_2025_11_24), bar(MIDNIGHT_NY_2025_11_24 + day, h=8.0),
            bar(MIDNIGHT_NY_2025_11_24 + 2 * day, v=-1), bar(MIDNIGHT_NY_2025_11_24 + 3 * day, o=12.0),
            bar(MIDNIGHT_NY_2025_11_24 + 4 * day, c=8.5)]}, {})
    fake.routes["/v2/aggs/ticker/MSFT/range/1/day/2025-11-24/2025-11-28"] = lambda q: (
        200, b'{"ticker":"MSFT","status":"OK","results":[{"t":1763960400000,"o":1,"h":2,"l":0.5,"c":NaN,'
             b'"v":5}]}', {})
    client = make_client(fake.base_url)
    [page] = list(client.aggregates("AAPL", "day", date(2025, 11, 24), date(2025, 11, 28)))
    assert [b.session_date for b in page.bars] == [date(2025, 11, 24)]
    assert [(r.ticker, r.date) for r in page.rejected] == [
        ("AAPL", date(2025, 11, 25)), ("AAPL", date(2025, 11, 26)), ("AAPL", date(2025, 11, 27)),
        ("AAPL", date(2025, 11, 28))]
    reasons = [r.reason for r in page.rejected]
    assert "high 8.0 < low 9.0" in reasons[0] and "negative volume" in reasons[1]
    assert "open 12.0 outside" in reasons[2] and "close 8.5 outside" in reasons[3]
    [nan_page] = list(client.aggregates("MSFT", "day", date(2025, 11, 24), date(2025, 11, 28)))
    assert nan_page.bars == [] and nan_page.rejected[0].ticker == "MSFT"
    assert "NaN" in nan_page.rejected[0].reason and nan_page.rejected[0].date == date(2025, 11, 24)


def test_grouped_daily_rejects_by_ticker(fake: FakePolygon) -> None:
    fake.routes["/v2/aggs/grouped/locale/us/market/stocks/2025-11-24"] = lambda q: (200, {
        "status": "OK", "resultsCount": 3, "results": [
            {"T": "AAPL", **bar(MIDNIGHT_NY_2025_11_24)}, {"T": "BAD", **bar(MIDNIGHT_NY_2025_11_24, h=1)},
            bar(MIDNIGHT_NY_2025_11_24)]}, {})
    page = make_client(fake.base_url).grouped_daily(date(2025, 11, 24))
    assert [(b.ticker, b.session_date) for b in page.bars] == [("AAPL", date(2025, 11, 24))]
    assert [(r.ticker, r.date) for r in page.rejected] == [("BAD", date(2025, 11, 24)),
                                                          ("?", date(2025, 11, 24))]
    assert "ticker" in page.rejected[1].reason


# -- 404 and other client errors -------------------------------------------------------------------
def test_unknown_ticker_is_none_and_not_retried(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/ZZZZ"] = lambda q: (
        404, {"status": "NOT_FOUND", "request_id": "r", "message": "Ticker not found."}, {})
    client = make_client(fake.base_url)
    assert client.ticker_details("ZZZZ") is None
    assert client.calls == {"ticker_details": 1} and len(fake.requests) == 1


def test_404_on_a_list_endpoint_is_an_error_not_an_empty_list(fake: FakePolygon) -> None:
    client = make_client(fake.base_url)  # no route: the fake answers 404
    pattern = r"splits /v3/reference/splits\?limit=1000.* for AAPL: HTTP 404"
    with pytest.raises(PolygonHTTPError, match=pattern):
        list(client.splits(ticker="AAPL"))
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403])
def test_other_client_errors_fail_at_once_naming_endpoint_and_ticker(fake: FakePolygon, status: int) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (
        status, {"status": "ERROR", "request_id": "r", "error": "You are not entitled to this data."}, {})
    client = make_client(fake.base_url)
    with pytest.raises(PolygonHTTPError) as failure:
        client.ticker_details("AAPL")
    assert str(failure.value) == (f"ticker_details /v3/reference/tickers/AAPL for AAPL: HTTP {status}: "
                                  "You are not entitled to this data.")
    assert (failure.value.status, failure.value.endpoint, failure.value.ticker) == (status, "ticker_details",
                                                                                    "AAPL")
    assert client.calls == {"ticker_details": 1}


def test_client_is_a_context_manager_and_needs_a_key(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: DETAILS_OK
    with make_client(fake.base_url) as client:
        assert client.ticker_details("AAPL") is not None
    with pytest.raises(ValueError, match="API key"):
        PolygonClient(api_key="", base_url=fake.base_url, limiter=None, sandbox=False)
    assert isinstance(PolygonRetriesExhausted("x"), PolygonError)
