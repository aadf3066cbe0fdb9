"""The Polygon client over real HTTP against a small Polygon-shaped server on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import redis

from tickstock_pipelines.resources.polygon import PolygonClient, PolygonError, PolygonResponseError
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter

CANARY = "CANARY-KEY-9f3b"
MIDNIGHT_NY_2025_11_24 = 1763960400000  # 2025-11-24 00:00 America/New_York, in ms


class FakePolygon:
    """Routes by path; each route returns (status, body, headers). Records every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[dict], tuple[int, object, dict]]] = {}
        self.requests: list[tuple[str, dict, str | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server dispatches by this name
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                fake.requests.append((parts.path, query, self.headers.get("Authorization")))
                status, body, headers = fake.routes[parts.path](query)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake() -> Iterator[FakePolygon]:
    server = FakePolygon()
    yield server
    server.server.shutdown()


def _client(fake: FakePolygon, **kwargs) -> PolygonClient:
    options = {"max_retries": 3, "backoff_seconds": 0.01, "timeout_seconds": 2.0} | kwargs
    return PolygonClient(api_key=CANARY, base_url=fake.base_url, limiter=None, sandbox=False, **options)


def _bar(t: int, o=10.0, h=11.0, lo=9.0, c=10.5, v=1000.0) -> dict:
    return {"t": t, "o": o, "h": h, "l": lo, "c": c, "v": v, "vw": 10.2, "n": 12}


def test_list_follows_absolute_next_url_and_copes_with_missing_results(fake: FakePolygon) -> None:
    def tickers(query: dict) -> tuple[int, object, dict]:
        if query.get("cursor") == "2":
            return 200, {"status": "OK", "request_id": "b"}, {}  # last page: no results, no next_url
        if query.get("cursor") == "1":
            return 200, {"status": "OK", "results": [{"ticker": "MSFT"}],
                         "next_url": f"{fake.base_url}/v3/reference/tickers?cursor=2&apiKey={CANARY}"}, {}
        return 200, {"status": "OK", "results": [{"ticker": "AAPL", "type": "CS"}],
                     "next_url": f"{fake.base_url}/v3/reference/tickers?cursor=1"}, {}

    fake.routes["/v3/reference/tickers"] = tickers
    client = _client(fake)
    assert [t.ticker for t in client.list_tickers(ticker_type="CS")] == ["AAPL", "MSFT"]
    assert fake.requests[0][1]["limit"] == "1000" and fake.requests[0][1]["type"] == "CS"
    assert all(auth == f"Bearer {CANARY}" for _, _, auth in fake.requests)
    assert all("apiKey" not in query for _, query, _ in fake.requests)
    assert client.calls["tickers"] == 3


def test_aggregates_ask_50000_date_bars_by_new_york_session_and_reject_invalid(fake: FakePolygon) -> None:
    fake.routes["/v2/aggs/ticker/AAPL/range/1/day/2025-11-24/2025-11-25"] = lambda q: (200, {
        "ticker": "AAPL", "status": "OK", "resultsCount": 3,
        "results": [_bar(MIDNIGHT_NY_2025_11_24), _bar(MIDNIGHT_NY_2025_11_24 + 86_400_000, h=8.0),
                    _bar(MIDNIGHT_NY_2025_11_24 + 2 * 86_400_000, v=-1)]}, {})
    [page] = list(_client(fake).aggregates("AAPL", "day", date(2025, 11, 24), date(2025, 11, 25)))
    assert fake.requests[0][1]["limit"] == "50000"
    assert [b.session_date for b in page.bars] == [date(2025, 11, 24)]
    assert [(r.ticker, r.date) for r in page.rejected] == [("AAPL", date(2025, 11, 25)),
                                                          ("AAPL", date(2025, 11, 26))]
    assert "high 8.0 < low 9.0" in page.rejected[0].reason and "negative volume" in page.rejected[1].reason


def test_unknown_ticker_is_none_and_not_retried(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/ZZZZ"] = lambda q: (
        404, {"status": "NOT_FOUND", "message": "Ticker not found."}, {})
    client = _client(fake)
    assert client.ticker_details("ZZZZ") is None
    assert client.calls["ticker_details"] == 1


def test_429_with_retry_after_then_success(fake: FakePolygon) -> None:
    answers = iter([(429, {"status": "ERROR"}, {"Retry-After": "0.05"}),
                    (503, {"status": "ERROR"}, {}),
                    (200, {"status": "OK", "results": {"ticker": "AAPL", "market_cap": 3.9e12}}, {})])
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: next(answers)
    client = _client(fake)
    details = client.ticker_details("AAPL")
    assert details is not None and details.market_cap == 3.9e12
    assert client.calls["ticker_details"] == 3  # retries count against the budget too


def test_retries_are_bounded_and_errors_are_redacted(fake: FakePolygon, caplog) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (500, {"error": f"boom {CANARY}"}, {})
    client = _client(fake, max_retries=2)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(PolygonError) as failure:
        client.ticker_details("AAPL")
    assert client.calls["ticker_details"] == 3
    assert "AAPL" in str(failure.value)
    assert CANARY not in str(failure.value) and CANARY not in caplog.text and CANARY not in repr(client)


def test_bad_request_fails_at_once_without_leaking(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (403, {"error": f"key {CANARY} not allowed"}, {})
    client = _client(fake)
    with pytest.raises(PolygonError) as failure:
        client.ticker_details("AAPL")
    assert client.calls["ticker_details"] == 1 and CANARY not in str(failure.value)


def test_malformed_bodies_fail_clearly_naming_the_ticker(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (200, b'{"results": {"ticker": "AA', {})
    fake.routes["/v3/reference/tickers/MSFT"] = lambda q: (200, {"results": {"ticker": 5, "active": "x"}}, {})
    client = _client(fake)
    with pytest.raises(PolygonResponseError, match="AAPL"):
        client.ticker_details("AAPL")
    with pytest.raises(PolygonResponseError, match="MSFT"):
        client.ticker_details("MSFT")


def test_connection_refused_is_retried_then_reported(fake: FakePolygon) -> None:
    fake.server.shutdown()
    fake.server.server_close()
    client = _client(fake, max_retries=1)
    with pytest.raises(PolygonError, match="ConnectionError after 2 attempts"):
        client.ticker_details("AAPL")


_WORKER = """
import sys, time, redis
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter
limiter = SharedRateLimiter(redis.Redis.from_url(sys.argv[1]), float(sys.argv[2]), key=sys.argv[3])
for _ in range(4):
    limiter.acquire()
    print(time.time(), flush=True)
"""


def test_budget_holds_across_two_processes(redis_url: str) -> None:
    """120/min means one request every 0.5 s for both processes together, not for each."""
    key = "test:budget:two-processes"
    redis.Redis.from_url(redis_url).delete(key)
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, redis_url, "120", key],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    stamps = sorted(float(line) for w in workers for line in w.communicate(timeout=30)[0].split())
    assert len(stamps) == 8
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    assert min(gaps) >= 0.45, gaps


def test_limiter_spaces_requests_in_one_process(redis_url: str) -> None:
    limiter = SharedRateLimiter(redis.Redis.from_url(redis_url), 600, key="test:budget:one")
    waited = [limiter.acquire() for _ in range(4)]
    assert waited[0] < 0.1 and all(0.05 <= w <= 0.2 for w in waited[1:]), waited
