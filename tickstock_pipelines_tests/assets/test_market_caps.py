"""Market caps without calls: once a stored close is newer than the details, `ohlcv_daily` derives
market_cap = weighted shares outstanding × that close, says which caps and from which session, and a
details answer's own figure replaces it; `cache report` says how old the oldest details are."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, instance_for_test

from tickstock_pipelines.cache.config import load_config
from tickstock_pipelines.cache.report import build_report
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.market_data_runs import metadata, run_load
from tickstock_sandbox import SandboxServer

CAPS = "SELECT symbol, market_cap, weighted_shares_outstanding, market_cap_session FROM symbols ORDER BY 1"
LAST_CLOSE = ("SELECT DISTINCT ON (symbol) symbol, date, close FROM ohlcv_daily "
              "ORDER BY symbol, date DESC")


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


def test_derived_market_caps_equal_shares_times_the_latest_close(
        instance: DagsterInstance, database_uri: str, redis_url: str, live_sandbox: SandboxServer) -> None:
    resources: dict[str, Any] = {
        "database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
        "polygon": PolygonResource(base_url=live_sandbox.base_url, backoff_seconds=0.01)}
    tickers = ["AAPL", "MSFT", "SPY"]
    config = {"symbols": tickers, "months": 1}
    assert run_load(instance, resources, config, tickers, ["symbols", "ohlcv_daily"]).success
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:  # details fetched ten days ago; their figure is older than the closes
        conn.execute(sa.text("UPDATE symbols SET details_updated_at = now() - interval '10 days', "
                             "market_cap = 1"))
        api_caps = dict(conn.execute(sa.text("SELECT symbol, market_cap FROM symbols")).all())
    again = run_load(instance, resources, None, tickers, ["ohlcv_daily"])
    assert again.success
    bars = metadata(again, "ohlcv_daily")
    with engine.connect() as conn:
        caps = {r.symbol: r for r in conn.execute(sa.text(CAPS))}
        closes = {r.symbol: r for r in conn.execute(sa.text(LAST_CLOSE))}
    derived = {s for s, r in caps.items() if r.weighted_shares_outstanding is not None}
    assert derived == {"AAPL", "MSFT"}  # SPY has no shares outstanding: its figure is left alone
    for symbol in derived:
        expected = float(caps[symbol].weighted_shares_outstanding) * float(closes[symbol].close)
        assert float(caps[symbol].market_cap) == pytest.approx(expected, rel=1e-9)
        assert caps[symbol].market_cap_session == closes[symbol].date
    assert float(caps["SPY"].market_cap) == float(api_caps["SPY"]) and caps["SPY"].market_cap_session is None
    session = closes["AAPL"].date.isoformat()
    assert bars["market_caps_derived"] == 2
    assert bars["market_caps_derived_from"] == {session: ["AAPL", "MSFT"]}

    third = run_load(instance, resources, None, tickers, ["ohlcv_daily"])
    assert metadata(third, "ohlcv_daily")["market_caps_derived"] == 0  # no newer close: nothing to do

    report = build_report(engine, load_config())
    assert report["freshness"]["oldest_details_age_days"] == pytest.approx(10, abs=0.1)
