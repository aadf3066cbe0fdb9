"""The client against the sandbox: real pagination sizes, NYSE session dates, and every fault the sandbox
injects (429, 5xx, slow, disconnect, malformed, truncated, invalid bars, page-2 failures)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date

import exchange_calendars
import pytest
import redis

from tickstock_pipelines.resources.polygon import (
    PolygonClient,
    PolygonResponseError,
    PolygonRetriesExhausted,
    SharedRateLimiter,
)
from tickstock_pipelines_tests.support.sandbox_fixtures import LAST_COMPLETED_SESSION, SANDBOX_NOW
from tickstock_sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(now=SANDBOX_NOW)) as server:
        yield server


def _client(sandbox: SandboxServer, **kwargs: object) -> PolygonClient:
    options = {"max_retries": 3, "backoff_seconds": 0.01, "timeout_seconds": 5.0} | kwargs
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url, limiter=None, sandbox=True,
                         **options)  # type: ignore[arg-type]


def _nyse_sessions(start: date, end: date) -> list[date]:
    return [d.date() for d in exchange_calendars.get_calendar("XNYS").sessions_in_range(start, end)]


def _sent(sandbox: SandboxServer) -> int:
    return sandbox.stats()["total_requests"]


def test_ticker_list_pages_through_more_than_1000(sandbox: SandboxServer) -> None:
    active = sum(1 for s in sandbox.state.securities.values() if not s.delisted)
    for i in range(1000 - active + 5):
        sandbox.add_ticker(f"ZZ{i:03d}", name=f"Test {i}", type="CS")
    client = _client(sandbox)
    tickers = [t.ticker for t in client.list_tickers()]
    assert len(tickers) == len(set(tickers)) == 1005
    assert client.calls == {"tickers": 2} and _sent(sandbox) == 2
    etfs = list(client.list_tickers(ticker_type="ETF"))
    assert etfs and {t.type for t in etfs} == {"ETF"}
    assert all(t.active is False for t in client.list_tickers(active=False))


def test_day_bars_are_nyse_sessions_and_minute_bars_page_at_50000(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    [page] = list(client.aggregates("AAPL", "day", date(2025, 1, 1), LAST_COMPLETED_SESSION))
    assert [b.session_date for b in page.bars] == _nyse_sessions(date(2025, 1, 1), LAST_COMPLETED_SESSION)
    assert page.rejected == []
    minute_pages = list(client.aggregates("AAPL", "minute", date(2025, 3, 1), LAST_COMPLETED_SESSION))
    sizes = [len(p.bars) for p in minute_pages]
    assert len(sizes) == 2 and sizes[0] == 50_000 and client.calls["aggs"] == 3
    stamps = [b.timestamp for p in minute_pages for b in p.bars]
    assert stamps == sorted(set(stamps))  # the second page resumes exactly where the first stopped


def test_unknown_ticker(sandbox: SandboxServer) -> None:
    client = _client(sandbox)
    assert client.ticker_details("NOSUCH") is None
    assert _sent(sandbox) == 1
    assert list(client.aggregates("NOSUCH", "day", date(2025, 12, 1), date(2025, 12, 31)))[0].bars == []


@pytest.mark.parametrize("fault", [
    {"kind": "429", "retry_after": 0.1}, {"kind": "429"}, {"kind": "500"}, {"kind": "502"}, {"kind": "503"},
    {"kind": "504"}, {"kind": "disconnect"}, {"kind": "slow", "sleep_seconds": 2.0},
    {"kind": "truncated"}, {"kind": "malformed"}, {"kind": "cut"},
])
def test_transient_faults_are_retried(sandbox: SandboxServer, fault: dict) -> None:
    sandbox.inject(path="/v3/reference/tickers/AAPL", count=2, **fault)
    client = _client(sandbox, timeout_seconds=0.5)
    details = client.ticker_details("AAPL")
    assert details is not None and details.ticker == "AAPL"
    assert client.calls == {"ticker_details": 3}
    if fault["kind"] != "slow":  # a slow request is recorded only when its sleep ends
        assert _sent(sandbox) == 3


def test_persistent_faults_give_up_after_the_bound(sandbox: SandboxServer) -> None:
    sandbox.inject("503", path="/v2/aggs")
    client = _client(sandbox, max_retries=2)
    pattern = r"aggs /v2/aggs/ticker/MSFT/.* for MSFT: HTTP 503 after 3"
    with pytest.raises(PolygonRetriesExhausted, match=pattern):
        list(client.aggregates("MSFT", "day", date(2025, 12, 1), date(2025, 12, 31)))
    assert _sent(sandbox) == 3


@pytest.mark.parametrize("retry_after", [0.02, None], ids=["Retry-After", "backoff"])
def test_429s_spend_no_retries_so_ten_in_a_row_still_succeed(sandbox: SandboxServer,
                                                              retry_after: float | None) -> None:
    """A 429 asks us to wait, it is no error: ten in a row outlast max_retries=3 and the call succeeds."""
    sandbox.inject("429", path="/v3/reference/tickers/AAPL", count=10, retry_after=retry_after)
    client = _client(sandbox, max_retries=3, max_backoff_seconds=0.05)
    details = client.ticker_details("AAPL")
    assert details is not None and details.ticker == "AAPL"
    assert client.calls == {"ticker_details": 11}
    assert sandbox.stats()["status_codes"] == {"429": 10, "200": 1}


def test_429_forever_fails_clearly_once_the_time_allowed_is_spent(sandbox: SandboxServer) -> None:
    sandbox.inject("429", path="/v3/reference/tickers/AAPL", retry_after=0.1)
    client = _client(sandbox, max_retries=3, rate_limited_max_seconds=0.5)
    started = time.monotonic()
    with pytest.raises(PolygonRetriesExhausted) as failure:
        client.ticker_details("AAPL")
    took = time.monotonic() - started
    found = re.fullmatch(r"ticker_details /v3/reference/tickers/AAPL for AAPL: rate limited \(HTTP 429\) for "
                         r"(\d+\.\d) s over (\d+) answers, longer than the 0\.5 s allowed "
                         r"\(last answer: You've exceeded the maximum requests per minute.*\)",
                         str(failure.value))
    assert found, str(failure.value)
    assert 0.5 <= float(found[1]) <= took < 1.5
    answers = int(found[2])
    assert answers == _sent(sandbox) == client.calls["ticker_details"] > 3 + 1  # more than max_retries allow
    assert (failure.value.status, failure.value.ticker) == (429, "AAPL")
    assert SANDBOX_API_KEY not in str(failure.value)


def test_a_retry_after_longer_than_the_time_left_is_cut_to_it(sandbox: SandboxServer) -> None:
    sandbox.inject("429", path="/v3/reference/tickers/AAPL", retry_after=30)
    client = _client(sandbox, rate_limited_max_seconds=0.4)
    started = time.monotonic()
    pattern = r"rate limited \(HTTP 429\) for 0\.\d s over 2 answers"
    with pytest.raises(PolygonRetriesExhausted, match=pattern):
        client.ticker_details("AAPL")
    assert 0.4 <= time.monotonic() - started < 2.0 and _sent(sandbox) == 2


def test_server_errors_are_still_bounded_by_count_among_429s(sandbox: SandboxServer) -> None:
    """429s and errors are counted apart: four 429s then two 500s pass with max_retries=2, not with 1."""
    for max_retries, succeeds in ((2, True), (1, False)):
        sandbox.configure(faults=[])
        sandbox.inject("429", path="/v3/reference/tickers/AAPL", count=4, retry_after=0.01)
        sandbox.inject("500", path="/v3/reference/tickers/AAPL", count=2)
        client = _client(sandbox, max_retries=max_retries)
        if succeeds:
            assert client.ticker_details("AAPL") is not None
            assert client.calls == {"ticker_details": 7}
        else:
            with pytest.raises(PolygonRetriesExhausted, match=r"for AAPL: HTTP 500 after 6 attempts "
                                                              r"\(4 of them answered 429\)"):
                client.ticker_details("AAPL")
            assert client.calls == {"ticker_details": 6}


def test_a_failed_second_page_is_retried_and_nothing_is_lost(sandbox: SandboxServer) -> None:
    expected = sum(len(p.bars) for p in _client(sandbox).aggregates("MSFT", "minute", date(2025, 3, 1),
                                                                     LAST_COMPLETED_SESSION))
    sandbox.inject("500", path="/v2/aggs", pages_only=True, count=1)
    client = _client(sandbox)
    pages = list(client.aggregates("MSFT", "minute", date(2025, 3, 1), LAST_COMPLETED_SESSION))
    assert sum(len(p.bars) for p in pages) == expected and client.calls == {"aggs": 3}


@pytest.mark.parametrize("kind", ["malformed", "truncated"])
def test_broken_bodies_fail_naming_the_ticker_once_the_retries_are_spent(sandbox: SandboxServer,
                                                                           kind: str) -> None:
    sandbox.inject(kind, path="/v2/aggs")
    client = _client(sandbox)
    with pytest.raises(PolygonResponseError, match="for NVDA: malformed JSON .* after 4 attempts"):
        list(client.aggregates("NVDA", "day", date(2025, 12, 1), date(2025, 12, 31)))
    assert _sent(sandbox) == 4
    sandbox.inject(kind, path="/v3/reference/tickers/NVDA")
    with pytest.raises(PolygonResponseError, match="ticker_details /v3/reference/tickers/NVDA for NVDA"):
        client.ticker_details("NVDA")


@pytest.mark.parametrize("invalid", ["high_lt_low", "negative_volume", "nan", "open_outside"])
def test_invalid_bars_are_rejected_by_ticker_and_date(sandbox: SandboxServer, invalid: str) -> None:
    clean = [b.session_date for p in _client(sandbox).aggregates("AAPL", "day", date(2025, 12, 1),
                                                                 date(2025, 12, 31)) for b in p.bars]
    sandbox.inject("invalid_bars", ticker="AAPL", invalid=invalid)
    [page] = list(_client(sandbox).aggregates("AAPL", "day", date(2025, 12, 1), date(2025, 12, 31)))
    [rejected] = page.rejected
    assert rejected.ticker == "AAPL" and rejected.date in clean
    assert [b.session_date for b in page.bars] == [d for d in clean if d != rejected.date]


def test_grouped_daily_rejects_the_broken_tickers_bar(sandbox: SandboxServer) -> None:
    sandbox.inject("invalid_bars", path="/v2/aggs/grouped", ticker="MSFT", invalid="negative_volume")
    page = _client(sandbox).grouped_daily(date(2025, 12, 10))
    assert [(r.ticker, r.date) for r in page.rejected] == [("MSFT", date(2025, 12, 10))]
    assert "negative volume" in page.rejected[0].reason
    tickers = {b.ticker for b in page.bars}
    assert "MSFT" not in tickers and "AAPL" in tickers and len(tickers) > 500
    assert {b.session_date for b in page.bars} == {date(2025, 12, 10)}


def test_splits_shipped_and_added(sandbox: SandboxServer) -> None:
    sandbox.add_split("AAPL", "2025-12-15", 1, 3)
    client = _client(sandbox)
    aapl = list(client.splits(ticker="AAPL", execution_date_gte=date(2025, 1, 1)))
    assert [(s.ticker, s.execution_date, s.split_from, s.split_to) for s in aapl] == [
        ("AAPL", date(2025, 12, 15), 1.0, 3.0)]
    everything = list(client.splits())
    assert len(everything) > 3 and {"AAPL", "NVDA"} <= {s.ticker for s in everything}


def test_our_budget_keeps_an_enforcing_server_from_ever_answering_429(sandbox: SandboxServer,
                                                                     redis_client: redis.Redis) -> None:
    sandbox.configure(rate_limit_per_minute=300)
    limiter = SharedRateLimiter(redis_client, 300, key="test:budget:enforced")
    client = PolygonClient(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url, limiter=limiter, sandbox=True)
    for ticker in ("AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "AVGO"):
        assert client.ticker_details(ticker) is not None
    assert sandbox.stats()["status_codes"] == {"200": 8}
