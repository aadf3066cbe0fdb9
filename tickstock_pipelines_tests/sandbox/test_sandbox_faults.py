"""Fault injection: each kind does what a broken upstream does, on the schedule asked for."""

from __future__ import annotations

import json
import math
import time

import pytest
import requests

from tickstock_pipelines_tests.support import sandbox_fixtures
from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import FaultRule, SandboxServer
from tickstock_sandbox.api import RATE_LIMIT_MESSAGE

DETAILS = "/v3/reference/tickers/AAPL"
AGGS = "/v2/aggs/ticker/AAPL/range/1/day/2025-12-01/2025-12-31"


def _statuses(server: SandboxServer, n: int, path: str = DETAILS) -> list[int]:
    return [api_get(server.base_url, path).status_code for _ in range(n)]


def test_429_with_and_without_retry_after(sandbox: SandboxServer) -> None:
    sandbox.inject("429", count=1, retry_after=2)
    limited = api_get(sandbox.base_url, DETAILS)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["status"] == "ERROR" and limited.json()["error"] == RATE_LIMIT_MESSAGE
    assert api_get(sandbox.base_url, DETAILS).status_code == 200  # count=1: only the next request
    sandbox.configure(faults=[{"kind": "429", "count": 1}])
    bare = api_get(sandbox.base_url, DETAILS)
    assert bare.status_code == 429 and "Retry-After" not in bare.headers
    assert sandbox.stats()["faults_injected"] == {"429": 2}


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_errors(sandbox: SandboxServer, kind: str) -> None:
    sandbox.inject(kind, count=1)
    response = api_get(sandbox.base_url, DETAILS)
    assert response.status_code == int(kind)
    if kind == "500":
        assert response.json()["status"] == "ERROR"
    else:  # a gateway answers in HTML, not JSON
        assert response.headers["Content-Type"] == "text/html" and "<html>" in response.text
    assert api_get(sandbox.base_url, DETAILS).status_code == 200


def test_every_nth_after_and_probability_schedules(sandbox: SandboxServer) -> None:
    sandbox.inject("503", every=3)
    assert _statuses(sandbox, 7) == [200, 200, 503, 200, 200, 503, 200]
    sandbox.configure(faults=[FaultRule("500", after=2, count=2)])
    assert _statuses(sandbox, 6) == [200, 200, 500, 500, 200, 200]
    sandbox.configure(faults=[{"kind": "500", "probability": 0.5}])
    first = _statuses(sandbox, 200)
    assert 60 < first.count(500) < 140
    sandbox.reset()
    sandbox.configure(faults=[{"kind": "500", "probability": 0.5}])
    assert _statuses(sandbox, 200) == first  # seeded: the same pattern after a reset


def test_faults_can_target_a_path_or_a_ticker(sandbox: SandboxServer) -> None:
    sandbox.inject("500", path="/v2/aggs")
    assert api_get(sandbox.base_url, DETAILS).status_code == 200
    assert api_get(sandbox.base_url, AGGS).status_code == 500
    sandbox.configure(faults=[{"kind": "502", "ticker": "MSFT"}])
    assert api_get(sandbox.base_url, AGGS).status_code == 200
    assert api_get(sandbox.base_url, AGGS.replace("AAPL", "MSFT")).status_code == 502


def test_a_slow_response_outlasts_the_client_timeout(sandbox: SandboxServer) -> None:
    sandbox.inject("slow", count=1, sleep_seconds=3)
    started = time.monotonic()
    with pytest.raises(requests.Timeout):
        api_get(sandbox.base_url, DETAILS, timeout=0.5)
    assert time.monotonic() - started < 2
    assert api_get(sandbox.base_url, DETAILS, timeout=5).status_code == 200


def test_malformed_truncated_and_dropped_responses(sandbox: SandboxServer) -> None:
    sandbox.inject("malformed", count=1)
    broken = api_get(sandbox.base_url, AGGS)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    whole = api_get(sandbox.base_url, AGGS).content
    sandbox.inject("truncated", count=1)
    cut = api_get(sandbox.base_url, AGGS)
    assert cut.status_code == 200 and whole.startswith(cut.content[:20]) and len(cut.content) < len(whole)
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.text)
    sandbox.inject("disconnect", count=1)
    with pytest.raises(requests.ConnectionError):
        api_get(sandbox.base_url, AGGS)
    assert api_get(sandbox.base_url, AGGS).status_code == 200


def test_a_body_cut_mid_stream_announces_more_than_it_sends(sandbox: SandboxServer) -> None:
    whole = api_get(sandbox.base_url, AGGS).content
    sandbox.inject("cut", count=1)
    response = requests.get(f"{sandbox.base_url}{AGGS}", headers={"Authorization": "Bearer k"}, stream=True,
                            timeout=5)
    assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(whole)
    received = bytearray()
    with pytest.raises(requests.exceptions.ChunkedEncodingError):  # urllib3: IncompleteRead
        for chunk in response.iter_content(64):
            received += chunk
    assert 0 < len(received) < len(whole) and whole[:len(received) // 2] == received[:len(received) // 2]
    assert api_get(sandbox.base_url, AGGS).json()["results"] == json.loads(whole)["results"]
    assert sandbox.stats()["faults_injected"] == {"cut": 1}


def test_aggregates_pages_can_be_made_small(sandbox: SandboxServer) -> None:
    """`aggs_page_limit` caps a page whatever limit the client asks, so a day-bar load follows next_url."""
    sandbox.configure(aggs_page_limit=7)
    first = api_get(sandbox.base_url, AGGS, {"limit": 50_000}).json()
    assert first["resultsCount"] == len(first["results"]) == 7 and "next_url" in first
    second = api_get(sandbox.base_url, first["next_url"]).json()
    assert second["results"][0]["t"] > first["results"][-1]["t"] and len(second["results"]) <= 7


@pytest.mark.parametrize("invalid", ["high_lt_low", "negative_volume", "nan", "open_outside"])
def test_invalid_bars_for_one_ticker(sandbox: SandboxServer, invalid: str) -> None:
    sandbox.inject("invalid_bars", ticker="AAPL", invalid=invalid)

    def broken(bar: dict) -> bool:
        return (bar["h"] < bar["l"] or bar["v"] < 0 or math.isnan(bar["c"])
                or not bar["l"] <= bar["o"] <= bar["h"])

    bars = api_get(sandbox.base_url, AGGS).json()["results"]
    assert sum(map(broken, bars)) == 1
    assert not any(map(broken, api_get(sandbox.base_url, AGGS.replace("AAPL", "MSFT")).json()["results"]))
    grouped = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-10").json()
    assert [r["T"] for r in grouped["results"] if broken(r)] == ["AAPL"]
    sandbox.configure(faults=[])  # the cached grouped rows were not corrupted
    clean = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-10").json()
    assert not any(map(broken, clean["results"]))


def test_page_two_fails_once_and_our_client_still_reads_every_page(sandbox: SandboxServer,
                                                                   sandbox_client) -> None:
    sandbox.inject("500", path="/v3/reference/tickers", pages_only=True, count=1)
    first = api_get(sandbox.base_url, "/v3/reference/tickers", {"limit": 300})
    assert first.status_code == 200
    assert api_get(sandbox.base_url, first.json()["next_url"]).status_code == 500
    assert api_get(sandbox.base_url, first.json()["next_url"]).status_code == 200
    sandbox.reset()
    sandbox.configure(now=sandbox_fixtures.SANDBOX_NOW)
    for n in range(120):  # more than the client's page of 1,000
        sandbox.add_ticker(f"ZZ{n:03d}")
    sandbox.inject("500", path="/v3/reference/tickers", pages_only=True, count=1)
    listed = [t.ticker for t in sandbox_client.list_tickers()]
    assert len(listed) == len(set(listed)) > 1000 and sandbox_client.calls["tickers"] == 3
    stats = sandbox.stats()
    assert stats["faults_injected"] == {"500": 1} and stats["status_codes"]["500"] == 1


def test_enforced_rate_limit_answers_like_polygon(sandbox: SandboxServer) -> None:
    sandbox.configure(rate_limit_per_minute=3)
    statuses = _statuses(sandbox, 5)
    assert statuses == [200, 200, 200, 429, 429]
    limited = api_get(sandbox.base_url, DETAILS)
    assert limited.json() == {"status": "ERROR", "request_id": limited.json()["request_id"],
                              "error": RATE_LIMIT_MESSAGE}
    assert sandbox.stats()["faults_injected"]["rate_limit"] == 3


def test_faults_are_steered_over_http(sandbox: SandboxServer) -> None:
    admin = f"{sandbox.base_url}/_sandbox/config"
    added = requests.post(admin, json={"add_faults": [{"kind": 503, "count": 1}]}, timeout=5)
    assert added.status_code == 200
    assert _statuses(sandbox, 2) == [503, 200]
    bad = requests.post(admin, json={"add_faults": [{"kind": "teapot"}]}, timeout=5)
    assert bad.status_code == 400 and "teapot" in bad.json()["error"]
    assert requests.post(admin, json={"colour": "red"}, timeout=5).status_code == 400
    assert requests.get(admin, timeout=5).json()["faults"][0]["fired"] == 1
