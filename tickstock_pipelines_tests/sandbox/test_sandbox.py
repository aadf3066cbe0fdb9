"""The sandbox's reference endpoints over real HTTP: pagination, filters, details, 404, auth, stats."""

from __future__ import annotations

import time

import requests

from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import SandboxServer

TICKERS = "/v3/reference/tickers"


def _all_pages(server: SandboxServer, params: dict) -> list[dict]:
    pages, url, query = [], TICKERS, params
    while url:
        body = api_get(server.base_url, url, query).json()
        pages.append(body)
        url, query = body.get("next_url"), None
    return pages


def test_ticker_list_pages_with_absolute_next_urls_until_the_last_page(sandbox: SandboxServer) -> None:
    pages = _all_pages(sandbox, {"market": "stocks", "limit": 250})
    assert len(pages) >= 4
    for page in pages[:-1]:
        assert page["next_url"].startswith(f"{sandbox.base_url}/v3/reference/tickers?cursor=")
        assert page["count"] == len(page["results"]) == 250
    assert "next_url" not in pages[-1] and 0 < pages[-1]["count"] <= 250
    tickers = [r["ticker"] for p in pages for r in p["results"]]
    assert len(tickers) == len(set(tickers)) > 900 and tickers == sorted(tickers)
    assert {"AAPL", "MSFT", "BRK.B", "SPY", "QQQ", "ASML", "TEAM", "VXX"} <= set(tickers)
    assert all(r["active"] for p in pages for r in p["results"])


def test_limit_defaults_to_100_and_is_capped_at_1000(sandbox: SandboxServer) -> None:
    assert len(api_get(sandbox.base_url, TICKERS).json()["results"]) == 100
    for n in range(120):  # the universe has ~920 active tickers: make it more than the cap
        sandbox.add_ticker(f"ZZ{n:03d}")
    body = api_get(sandbox.base_url, TICKERS, {"limit": 5000}).json()
    assert len(body["results"]) == 1000 and "next_url" in body


def test_no_match_has_no_results_key_and_no_next_url(sandbox: SandboxServer) -> None:
    body = api_get(sandbox.base_url, TICKERS, {"type": "WARRANT"}).json()
    assert body["status"] == "OK" and body["count"] == 0 and "request_id" in body
    assert "results" not in body and "next_url" not in body
    assert "results" not in api_get(sandbox.base_url, TICKERS, {"market": "crypto"}).json()


def test_filters_by_type_active_ticker_and_search(sandbox: SandboxServer) -> None:
    etfs = [r for p in _all_pages(sandbox, {"type": "ETF", "limit": 1000}) for r in p["results"]]
    assert len(etfs) >= 300 and {r["type"] for r in etfs} == {"ETF"}
    assert {"SPY", "IVV", "VOO", "XLK", "GLD", "EFA", "ARKK", "TQQQ"} <= {r["ticker"] for r in etfs}
    etns = api_get(sandbox.base_url, TICKERS, {"type": "ETN"}).json()["results"]
    assert "VXX" in {r["ticker"] for r in etns}
    gone = api_get(sandbox.base_url, TICKERS, {"active": "false", "limit": 1000}).json()["results"]
    assert gone and all(not r["active"] and r["delisted_utc"].endswith("Z") for r in gone)
    assert "ANSS" in {r["ticker"] for r in gone}
    one = api_get(sandbox.base_url, TICKERS, {"ticker": "MSFT"}).json()["results"]
    assert [r["ticker"] for r in one] == ["MSFT"]
    found = api_get(sandbox.base_url, TICKERS, {"search": "apple"}).json()["results"]
    assert "AAPL" in {r["ticker"] for r in found}
    window = api_get(sandbox.base_url, TICKERS, {"ticker.gte": "AA", "ticker.lt": "AB"}).json()["results"]
    assert window and all("AA" <= r["ticker"] < "AB" for r in window)


def test_details_for_a_stock_an_etf_and_a_gap_in_the_data(sandbox: SandboxServer) -> None:
    apple = api_get(sandbox.base_url, f"{TICKERS}/AAPL").json()
    assert apple["status"] == "OK" and apple["request_id"]
    result = apple["results"]
    assert result["ticker"] == "AAPL" and result["type"] == "CS" and result["primary_exchange"] == "XNAS"
    assert result["market_cap"] > 1e12 and (result["sic_code"], result["cik"]) == ("3571", "0000320193")
    assert result["weighted_shares_outstanding"] == round(result["market_cap"] / 309.35)
    berkshire = api_get(sandbox.base_url, f"{TICKERS}/BRK.B").json()["results"]
    assert "market_cap" not in berkshire and "weighted_shares_outstanding" not in berkshire
    assert berkshire["sic_code"] == "6331"
    spy = api_get(sandbox.base_url, f"{TICKERS}/SPY").json()["results"]
    assert spy["type"] == "ETF" and spy["primary_exchange"] == "ARCX"
    assert not {"sic_code", "market_cap"} & spy.keys()
    asml = api_get(sandbox.base_url, f"{TICKERS}/ASML").json()["results"]
    assert asml["type"] == "ADRC" and asml["market_cap"] > 1e11 and asml["sic_code"] == "3559"


def test_unknown_ticker_is_a_polygon_404(sandbox: SandboxServer) -> None:
    response = api_get(sandbox.base_url, f"{TICKERS}/NOPE")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"status", "request_id", "message"}
    assert body["status"] == "NOT_FOUND" and body["message"] == "Ticker not found."


def test_auth_is_a_bearer_header_and_a_key_in_the_url_is_recorded(sandbox: SandboxServer) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        response = api_get(sandbox.base_url, f"{TICKERS}/AAPL", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"] == "API Key was not provided"
        assert response.json()["status"] == "ERROR"
    assert api_get(sandbox.base_url, f"{TICKERS}/AAPL").status_code == 200
    assert sandbox.stats()["key_in_url"] is False
    in_url = requests.get(f"{sandbox.base_url}{TICKERS}/AAPL", params={"apiKey": "k"}, timeout=5)
    assert in_url.status_code == 200
    stats = sandbox.stats()
    assert stats["key_in_url"] is True and stats["key_in_url_requests"] == 1 and stats["auth_failures"] == 3


def test_stats_count_requests_by_endpoint_status_and_time_and_reset_them(sandbox: SandboxServer) -> None:
    api_get(sandbox.base_url, f"{TICKERS}/AAPL")
    api_get(sandbox.base_url, f"{TICKERS}/MSFT")
    api_get(sandbox.base_url, f"{TICKERS}/NOPE")
    api_get(sandbox.base_url, "/v2/aggs/ticker/AAPL/range/1/day/2025-12-01/2025-12-05")
    stats = requests.get(f"{sandbox.base_url}/_sandbox/stats", timeout=5).json()
    assert stats["total_requests"] == 4
    assert stats["by_endpoint"] == {"/v3/reference/tickers/{ticker}": 3,
                                    "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}": 1}
    assert stats["status_codes"] == {"200": 3, "404": 1}
    stamps = [r["monotonic"] for r in stats["requests"]]
    assert stamps == sorted(stamps) and all(r["wall"] > 1.7e9 for r in stats["requests"])
    assert requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=5).status_code == 200
    assert sandbox.stats()["total_requests"] == 0


def test_latency_is_added_to_every_request(sandbox: SandboxServer) -> None:
    sandbox.configure(latency_ms=300)
    started = time.monotonic()
    api_get(sandbox.base_url, f"{TICKERS}/AAPL")
    assert time.monotonic() - started >= 0.3
    requests.post(f"{sandbox.base_url}/_sandbox/config", json={"latency_ms": 0}, timeout=5)
    started = time.monotonic()
    api_get(sandbox.base_url, f"{TICKERS}/AAPL")
    assert time.monotonic() - started < 0.3


def test_tickers_added_and_delisted_at_run_time(sandbox: SandboxServer) -> None:
    added = requests.post(f"{sandbox.base_url}/_sandbox/tickers",
                          json={"ticker": "NEWCO", "name": "NewCo Inc.", "price": 42.0, "market_cap": 4.2e9},
                          timeout=5)
    assert added.status_code == 200
    details = api_get(sandbox.base_url, f"{TICKERS}/NEWCO").json()["results"]
    assert details["name"] == "NewCo Inc." and details["market_cap"] == 4.2e9 and details["active"]
    bars = api_get(sandbox.base_url, "/v2/aggs/ticker/NEWCO/range/1/day/2025-12-01/2025-12-05").json()
    assert bars["resultsCount"] == 5
    delisting = {"ticker": "AAPL", "date": "2025-12-03"}
    requests.post(f"{sandbox.base_url}/_sandbox/delist", json=delisting, timeout=5)
    listed = api_get(sandbox.base_url, TICKERS, {"limit": 1000}).json()["results"]
    assert "AAPL" not in {r["ticker"] for r in listed}
    gone = api_get(sandbox.base_url, TICKERS, {"ticker": "AAPL", "active": "false"}).json()["results"]
    assert gone[0]["delisted_utc"] == "2025-12-03T00:00:00Z"
    after = api_get(sandbox.base_url, "/v2/aggs/ticker/AAPL/range/1/day/2025-12-01/2025-12-05").json()
    assert after["resultsCount"] == 2  # Dec 1 and 2 traded; nothing from the delisting date on
