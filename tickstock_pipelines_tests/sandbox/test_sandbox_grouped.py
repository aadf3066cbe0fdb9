"""Grouped daily as the real API answers it, behind switches that are off by default: some tickers left
out (per-ticker aggregates still serve them), and an empty answer for a completed session not yet
published (`results` absent, resultsCount 0)."""

from __future__ import annotations

import requests

from tickstock_pipelines_tests.support.sandbox_fixtures import LAST_COMPLETED_SESSION, api_get
from tickstock_sandbox import SandboxServer

LAST = LAST_COMPLETED_SESSION.isoformat()  # Wed 2025-12-31
PREVIOUS = "2025-12-30"
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{}"


def _tickers(server: SandboxServer, day: str) -> set[str]:
    body = api_get(server.base_url, GROUPED.format(day)).json()
    return {row["T"] for row in body.get("results", [])}


def test_switches_are_off_by_default(sandbox: SandboxServer) -> None:
    assert {"KO", "AAPL"} <= _tickers(sandbox, LAST)
    config = sandbox.state.config.to_json()
    assert config["grouped_omit"] == [] and config["grouped_unpublished_sessions"] == 0


def test_omitted_tickers_are_absent_from_grouped_daily_but_served_by_aggregates(
        sandbox: SandboxServer) -> None:
    full = _tickers(sandbox, LAST)
    sandbox.configure(grouped_omit=["ko", "PEP"])  # upper-cased like tickers on the wire
    answer = api_get(sandbox.base_url, GROUPED.format(LAST)).json()
    assert {row["T"] for row in answer["results"]} == full - {"KO", "PEP"}
    assert answer["resultsCount"] == answer["queryCount"] == len(full) - 2
    aggs = api_get(sandbox.base_url, f"/v2/aggs/ticker/KO/range/1/day/{PREVIOUS}/{LAST}").json()
    assert [bar["t"] for bar in aggs["results"]] and aggs["resultsCount"] == 2


def test_the_newest_sessions_answer_empty_until_published(sandbox: SandboxServer) -> None:
    sandbox.configure(grouped_unpublished_sessions=1)
    empty = api_get(sandbox.base_url, GROUPED.format(LAST))
    assert empty.status_code == 200
    body = empty.json()
    assert "results" not in body and body["resultsCount"] == 0 and body["queryCount"] == 0
    assert body["status"] == "OK"
    assert "KO" in _tickers(sandbox, PREVIOUS)  # the session before is published
    sandbox.configure(grouped_unpublished_sessions=2)
    assert _tickers(sandbox, PREVIOUS) == set()
    aggs = api_get(sandbox.base_url, f"/v2/aggs/ticker/KO/range/1/day/{PREVIOUS}/{LAST}").json()
    assert aggs["resultsCount"] == 2  # per-ticker aggregates have the session already


def test_switches_are_steered_over_http_and_reset(sandbox: SandboxServer) -> None:
    admin = f"{sandbox.base_url}/_sandbox/config"
    switches = {"grouped_omit": ["KO"], "grouped_unpublished_sessions": 0}
    changed = requests.post(admin, json=switches, timeout=5)
    assert changed.status_code == 200 and changed.json()["grouped_omit"] == ["KO"]
    assert "KO" not in _tickers(sandbox, LAST)
    bad = requests.post(admin, json={"grouped_unpublished_sessions": -1}, timeout=5)
    assert bad.status_code == 400
    sandbox.reset()
    assert "KO" in _tickers(sandbox, LAST)
