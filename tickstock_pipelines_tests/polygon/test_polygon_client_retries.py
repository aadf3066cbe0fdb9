"""The Polygon client's retries over real HTTP against a small Polygon-shaped server on 127.0.0.1: 429s
with and without Retry-After, 5xx, timeouts, refused connections, bodies cut short or malformed."""

from __future__ import annotations

import threading
import time
from datetime import date
from http.server import ThreadingHTTPServer

import pytest

from tickstock_pipelines.resources.polygon import (
    PolygonResponseError,
    PolygonRetriesExhausted,
)
from tickstock_pipelines.resources.polygon import client as client_module
from tickstock_pipelines.resources.polygon import retry as retry_module
from tickstock_pipelines_tests.support.fake_polygon import (
    DETAILS_OK,
    FakePolygon,
    Reply,
    make_client,
    sequence,
)


# -- retries -----------------------------------------------------------------------------------------
def test_429_honours_retry_after_seconds(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(
        (429, {"status": "ERROR", "error": "You've exceeded the maximum requests per minute"},
         {"Retry-After": "1"}), DETAILS_OK)
    client = make_client(fake.base_url, backoff_seconds=0.001)
    details = client.ticker_details("AAPL")
    assert details is not None and details.market_cap == 3.9e12
    gap = fake.requests[1]["at"] - fake.requests[0]["at"]
    assert 0.95 <= gap < 2.0, gap
    assert client.calls == {"ticker_details": 2}  # the 429 counts as a request sent


def test_a_retry_after_longer_than_max_backoff_is_still_honoured(fake: FakePolygon) -> None:
    """max_backoff caps our own guesses; a Retry-After is Polygon's instruction (bounded by time only)."""
    fake.routes["/v3/reference/tickers/AAPL"] = sequence((429, {"status": "ERROR"}, {"Retry-After": "1"}),
                                                         DETAILS_OK)
    client = make_client(fake.base_url, max_backoff_seconds=0.05)
    assert client.ticker_details("AAPL") is not None
    assert fake.requests[1]["at"] - fake.requests[0]["at"] >= 0.95


def test_429_without_retry_after_backs_off_exponentially_with_jitter(
        fake: FakePolygon, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(retry_module.time, "sleep", slept.append)
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(*[(429, {"status": "ERROR"}, {})] * 5, DETAILS_OK)
    client = make_client(fake.base_url, max_retries=6, backoff_seconds=1.0, max_backoff_seconds=6.0)
    assert client.ticker_details("AAPL") is not None
    assert len(slept) == 5 and client.calls == {"ticker_details": 6}
    for attempt, delay in enumerate(slept[:4]):
        assert 0.5 * 2**attempt <= delay <= 1.5 * 2**attempt, slept
    assert slept[4] == 6.0  # 16 × jitter ≥ 8, capped at max_backoff_seconds
    assert len({round(d / 2**i, 6) for i, d in enumerate(slept[:4])}) > 1  # jitter: not a fixed schedule


def test_retry_after_as_seconds_or_http_date() -> None:
    assert client_module.retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert client_module.retry_after_seconds("2.5") == 2.5
    assert client_module.retry_after_seconds("soon") is None
    assert client_module.retry_after_seconds(None) is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried(fake: FakePolygon, status: int) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(
        (status, b"<html><body>bad gateway</body></html>", {"Content-Type": "text/html"}), DETAILS_OK)
    client = make_client(fake.base_url)
    assert client.ticker_details("AAPL") is not None
    assert client.calls == {"ticker_details": 2}


def test_retries_are_bounded(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (500, {"status": "ERROR", "error": "boom"}, {})
    client = make_client(fake.base_url, max_retries=2)
    with pytest.raises(PolygonRetriesExhausted) as failure:
        client.ticker_details("AAPL")
    assert str(failure.value) == ("ticker_details /v3/reference/tickers/AAPL for AAPL: "
                                  "HTTP 500 after 3 attempts (last answer: boom)")
    assert client.calls == {"ticker_details": 3} and len(fake.requests) == 3


def test_timeouts_are_retried_and_every_request_has_one(fake: FakePolygon) -> None:
    replies = iter(["slow", "slow", "fast"])

    def details(query: dict) -> Reply:
        if next(replies) == "slow":
            time.sleep(1.0)
        return DETAILS_OK

    fake.routes["/v3/reference/tickers/AAPL"] = details
    client = make_client(fake.base_url, timeout_seconds=0.2)
    started = time.monotonic()
    assert client.ticker_details("AAPL") is not None
    assert client.calls == {"ticker_details": 3} and time.monotonic() - started < 1.5


def test_timeouts_are_bounded(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (time.sleep(0.6), DETAILS_OK)[1]
    client = make_client(fake.base_url, timeout_seconds=0.15, max_retries=1)
    with pytest.raises(PolygonRetriesExhausted, match="ReadTimeout after 2 attempts"):
        client.ticker_details("AAPL")


def test_connection_refused_is_retried_then_reported(fake: FakePolygon) -> None:
    fake.server.shutdown()
    fake.server.server_close()
    client = make_client(fake.base_url, max_retries=2)
    with pytest.raises(PolygonRetriesExhausted, match=r"for AAPL: ConnectionError after 3 attempts$"):
        client.ticker_details("AAPL")
    assert client.calls == {"ticker_details": 3}


def test_connection_refused_then_recovered(fake: FakePolygon) -> None:
    """A server that comes back on the same port within the retries is reached."""
    port = fake.server.server_address[1]
    fake.server.shutdown()
    fake.server.server_close()
    revived: list[ThreadingHTTPServer] = []

    def revive() -> None:
        time.sleep(0.3)
        handler = fake.server.RequestHandlerClass
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        revived.append(server)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()

    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: DETAILS_OK
    threading.Thread(target=revive, daemon=True).start()
    client = make_client(fake.base_url, max_retries=6, backoff_seconds=0.1)
    try:
        assert client.ticker_details("AAPL") is not None
        assert client.calls["ticker_details"] >= 2
    finally:
        for server in revived:
            server.shutdown()
            server.server_close()


def test_a_body_cut_short_of_its_content_length_is_retried(fake: FakePolygon) -> None:
    """A proxy or server dropping the connection mid-body is transient (ChunkedEncodingError)."""
    cut: Reply = (200, b'{"status": "OK", "results": {"ticker": "AA', {"Content-Length": "500"})
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(cut, cut, DETAILS_OK)
    client = make_client(fake.base_url)
    assert client.ticker_details("AAPL") is not None
    assert client.calls == {"ticker_details": 3}
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: cut
    with pytest.raises(PolygonRetriesExhausted, match="for AAPL: ChunkedEncodingError after 4 attempts"):
        client.ticker_details("AAPL")


# -- malformed bodies ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("body", "problem", "attempts"), [
    (b'{"results": {"ticker": "AA', "malformed JSON", 4),  # cut short: transient, retried
    (b"<html>maintenance</html>", "malformed JSON", 4),  # a proxy's page: transient, retried
    (b'["not", "an", "object"]', "body is a list", 1),  # parses: what the server meant, not retried
    (b'{"status": "OK"}', "no 'results' object", 1),
    (b'{"results": {"ticker": 5, "active": "maybe", "list_date": "someday"}}', "malformed TickerDetails", 1),
])
def test_malformed_details_fail_clearly_naming_the_ticker(fake: FakePolygon, body: bytes, problem: str,
                                                          attempts: int) -> None:
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (200, body, {})
    client = make_client(fake.base_url)
    with pytest.raises(PolygonResponseError, match=problem) as failure:
        client.ticker_details("AAPL")
    assert "for AAPL" in str(failure.value) and failure.value.ticker == "AAPL"
    assert client.calls == {"ticker_details": attempts}
    if attempts > 1:
        assert str(failure.value).endswith(f"after {attempts} attempts")


def test_a_body_that_does_not_parse_is_retried_like_a_502(fake: FakePolygon) -> None:
    """A truncated or malformed body is a transient fault, within the same error allowance."""
    truncated: Reply = (200, b'{"status": "OK", "results": {"ticker": "AA', {})
    garbled: Reply = (200, b"\xff\xfe<html>", {})
    gateway: Reply = (502, b"<html>bad gateway</html>", {"Content-Type": "text/html"})
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(truncated, gateway, garbled, DETAILS_OK)
    client = make_client(fake.base_url, max_retries=3)
    assert client.ticker_details("AAPL") is not None
    assert client.calls == {"ticker_details": 4}
    fake.routes["/v3/reference/tickers/AAPL"] = sequence(truncated, gateway, garbled, DETAILS_OK)
    pattern = r"for AAPL: malformed JSON \(JSONDecodeError.* after 3 attempts$"
    with pytest.raises(PolygonResponseError, match=pattern):
        make_client(fake.base_url, max_retries=2).ticker_details("AAPL")  # one allowance for all three


def test_malformed_aggregates_name_the_ticker_and_endpoint(fake: FakePolygon) -> None:
    path = "/v2/aggs/ticker/TSLA/range/1/day/2025-11-24/2025-11-25"
    fake.routes[path] = lambda q: (200, b'{"ticker":"TSLA","results":[{"t":1763960400000,"o":1', {})
    with pytest.raises(PolygonResponseError, match=f"aggs {path}.* for TSLA: malformed JSON"):
        list(make_client(fake.base_url).aggregates("TSLA", "day", date(2025, 11, 24), date(2025, 11, 25)))
    fake.routes[path] = lambda q: (200, {"ticker": "TSLA", "results": {"o": 1}}, {})
    with pytest.raises(PolygonResponseError, match="for TSLA: 'results' is a dict, not a list"):
        list(make_client(fake.base_url).aggregates("TSLA", "day", date(2025, 11, 24), date(2025, 11, 25)))


def test_malformed_list_item_names_its_ticker(fake: FakePolygon) -> None:
    fake.routes["/v3/reference/splits"] = lambda q: (200, {"results": [
        {"ticker": "AAPL", "execution_date": "2020-08-31", "split_from": 1, "split_to": 4},
        {"ticker": "NVDA", "execution_date": "not a date", "split_from": 1, "split_to": 10}]}, {})
    splits = make_client(fake.base_url).splits()
    assert next(splits).split_to == 4
    with pytest.raises(PolygonResponseError, match="malformed Split for NVDA: execution_date"):
        next(splits)
