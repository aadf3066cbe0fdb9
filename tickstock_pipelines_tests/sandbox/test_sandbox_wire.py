"""The sandbox answers with the keys and JSON types of Polygon's documented responses (samples/),
and our client's parsers read the samples and the sandbox alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tickstock_pipelines.resources.polygon.models import Split, TickerDetails, TickerRef, parse_bar
from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import SandboxServer

SAMPLES = Path(__file__).parents[1] / "samples"
# Documented detail fields Polygon leaves out when it has no value; the sandbox has none of these facts.
OPTIONAL_DETAILS = {"homepage_url", "phone_number", "total_employees", "ticker_suffix", "market_cap",
                    "sic_code", "sic_description", "share_class_shares_outstanding",
                    "weighted_shares_outstanding", "address", "description", "delisted_utc"}


def _sample(name: str) -> dict:
    return json.loads((SAMPLES / f"{name}.json").read_text())


def _kind(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return repr(type(value).__name__)
    return "number" if isinstance(value, int | float) else type(value).__name__


def _same_shape(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs), (set(ours) ^ set(theirs))
    assert {k: _kind(v) for k, v in ours.items()} == {k: _kind(v) for k, v in theirs.items()}


def test_ticker_list(sandbox: SandboxServer) -> None:
    sample = _sample("tickers_list")
    ours = api_get(sandbox.base_url, "/v3/reference/tickers", {"limit": 2}).json()
    _same_shape({k: v for k, v in ours.items() if k != "results"},
                {k: v for k, v in sample.items() if k != "results"})
    for item in ours["results"]:
        _same_shape(item, sample["results"][0])
    for item in (*sample["results"], *ours["results"]):
        TickerRef.model_validate(item)


@pytest.mark.parametrize("ticker", ["AAPL", "BRK.B", "SPY", "VXX", "ASML"])
def test_ticker_details(sandbox: SandboxServer, ticker: str) -> None:
    sample = _sample("ticker_details")
    ours = api_get(sandbox.base_url, f"/v3/reference/tickers/{ticker}").json()
    assert set(ours) == set(sample) and ours["status"] == "OK"
    theirs, mine = sample["results"], ours["results"]
    assert set(theirs) - OPTIONAL_DETAILS <= set(mine) <= set(theirs) | OPTIONAL_DETAILS
    common = set(mine) & set(theirs)
    assert {k: _kind(mine[k]) for k in common} == {k: _kind(theirs[k]) for k in common}
    assert set(mine.get("address", {})) <= set(theirs["address"])
    assert set(mine["branding"]) == set(theirs["branding"])
    for details in (theirs, mine):
        TickerDetails.model_validate(details)


def test_day_aggregates(sandbox: SandboxServer) -> None:
    sample = _sample("aggs_day")
    ours = api_get(sandbox.base_url, "/v2/aggs/ticker/AAPL/range/1/day/2025-12-01/2025-12-31",
                   {"limit": 2}).json()
    _same_shape({k: v for k, v in ours.items() if k != "results"},
                {k: v for k, v in sample.items() if k != "results"})
    for bar in ours["results"]:
        _same_shape(bar, sample["results"][0])
    for bar in (*sample["results"], *ours["results"]):
        assert not hasattr(parse_bar(bar, "AAPL"), "reason")


def test_grouped_daily(sandbox: SandboxServer) -> None:
    sample = _sample("grouped_daily")
    ours = api_get(sandbox.base_url, "/v2/aggs/grouped/locale/us/market/stocks/2025-12-10").json()
    _same_shape({k: v for k, v in ours.items() if k != "results"},
                {k: v for k, v in sample.items() if k != "results"})
    for bar in ours["results"][:50]:
        _same_shape(bar, sample["results"][0])
    assert all(not hasattr(parse_bar(bar, bar["T"]), "reason") for bar in sample["results"] + ours["results"])


def test_splits(sandbox: SandboxServer) -> None:
    sample = _sample("splits")
    ours = api_get(sandbox.base_url, "/v3/reference/splits", {"limit": 2}).json()
    _same_shape({k: v for k, v in ours.items() if k != "results"},
                {k: v for k, v in sample.items() if k != "results"})
    for item in ours["results"]:
        _same_shape(item, sample["results"][0])
    for item in (*sample["results"], *ours["results"]):
        Split.model_validate(item)


def test_error_bodies(sandbox: SandboxServer) -> None:
    _same_shape(api_get(sandbox.base_url, "/v3/reference/tickers/NOPE").json(), _sample("error_not_found"))
    unauthorized = api_get(sandbox.base_url, "/v3/reference/tickers/AAPL", headers={}).json()
    _same_shape(unauthorized, _sample("error_unauthorized"))
    assert unauthorized["error"] == _sample("error_unauthorized")["error"]
    sandbox.inject("429", count=1)
    limited = api_get(sandbox.base_url, "/v3/reference/tickers/AAPL").json()
    _same_shape(limited, _sample("error_rate_limited"))
    assert limited["error"] == _sample("error_rate_limited")["error"]
