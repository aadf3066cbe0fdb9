"""Synthetic listings beyond the shipped universe (SandboxConfig.synthetic_stocks / synthetic_etfs), for a
whole-market benchmark: none by default; when asked for, they are listed, described and traded like
the shipped ones, and a grouped-daily answer carries the very bars per-ticker aggregates serve."""

from __future__ import annotations

import requests

from tickstock_pipelines_tests.support.sandbox_fixtures import LAST_COMPLETED_SESSION, SANDBOX_NOW, api_get
from tickstock_sandbox import SandboxConfig, SandboxServer
from tickstock_sandbox.market import PREFIXES

LAST = LAST_COMPLETED_SESSION.isoformat()
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{}"


def _listed(server: SandboxServer, kind: str) -> list[str]:
    body = api_get(server.base_url, "/v3/reference/tickers", {"type": kind, "limit": 1000}).json()
    tickers = [r["ticker"] for r in body["results"]]
    while body.get("next_url"):
        body = api_get(server.base_url, body["next_url"]).json()
        tickers += [r["ticker"] for r in body["results"]]
    return tickers


def _synthetic(tickers: list[str]) -> list[str]:
    return [t for t in tickers if t.startswith(tuple(PREFIXES.values()))]


def test_no_synthetic_listing_by_default(sandbox: SandboxServer) -> None:
    assert _synthetic(_listed(sandbox, "CS")) == [] and _synthetic(_listed(sandbox, "ETF")) == []
    grouped = api_get(sandbox.base_url, GROUPED.format(LAST)).json()
    assert _synthetic([r["T"] for r in grouped["results"]]) == []


def test_synthetic_listings_are_listed_described_and_traded() -> None:
    with SandboxServer(SandboxConfig(now=SANDBOX_NOW)) as shipped, \
            SandboxServer(SandboxConfig(now=SANDBOX_NOW, synthetic_stocks=1200, synthetic_etfs=30)) as market:
        stocks, etfs = _listed(market, "CS"), _listed(market, "ETF")
        assert len(stocks) == len(_listed(shipped, "CS")) + 1200  # two pages of 1,000
        assert len(etfs) == len(_listed(shipped, "ETF")) + 30
        assert len(_synthetic(stocks)) == 1200 and all(t.startswith("ZQS") for t in _synthetic(stocks))
        details = api_get(market.base_url, "/v3/reference/tickers/ZQSA").json()["results"]
        assert details["type"] == "CS" and details["active"] and details["sic_code"]

        grouped = {r["T"]: r for r in api_get(market.base_url, GROUPED.format(LAST)).json()["results"]}
        before = api_get(shipped.base_url, GROUPED.format(LAST)).json()["results"]
        shipped_grouped = {r["T"]: r for r in before}
        assert {t: grouped[t] for t in shipped_grouped} == shipped_grouped  # shipped bars unchanged
        for ticker in ("ZQSA", "ZQSBZ", "ZQEA"):
            aggs = api_get(market.base_url, f"/v2/aggs/ticker/{ticker}/range/1/day/{LAST}/{LAST}").json()
            bar = grouped[ticker]
            assert aggs["results"] == [{k: v for k, v in bar.items() if k != "T"}]
            assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"] and bar["v"] > 0


def test_synthetic_listings_are_steered_over_http(sandbox: SandboxServer) -> None:
    before = len(_listed(sandbox, "ETF"))
    changed = requests.post(f"{sandbox.base_url}/_sandbox/config", json={"synthetic_etfs": 5}, timeout=5)
    assert changed.status_code == 200
    assert len(_listed(sandbox, "ETF")) == before + 5
    sandbox.configure(synthetic_etfs=0)
    assert _synthetic(_listed(sandbox, "ETF")) == []
    bad = requests.post(f"{sandbox.base_url}/_sandbox/config", json={"synthetic_stocks": -1}, timeout=5)
    assert bad.status_code == 400
