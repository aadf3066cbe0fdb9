"""Delisted tickers against a sandbox that answers as the real API does (details 404, the ticker list
with active=false still has them): a load stores them inactive with their delisting date and their bars
up to the last session they traded; the monthly refresh marks newly delisted symbols inactive, and the
rebuild drops them from every universe and says so on universe_updates."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, Definitions, build_schedule_context, instance_for_test

from tickstock_pipelines.assets.cache import cache_defs
from tickstock_pipelines.assets.market_data import load_job, market_data_defs
from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.orchestration import orchestration_defs
from tickstock_pipelines.orchestration.schedules import monthly_full_rebuild
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.market_data_runs import checks, metadata, run_load, run_view
from tickstock_sandbox import SandboxConfig, SandboxServer

UNIVERSES = "type IN ('stock_universe', 'etf_universe', 'stock_etf_combo')"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(delisted_details_404=True)) as server:  # real clock
        yield server


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


def _resources(database_uri: str, redis_url: str, sandbox: SandboxServer, **polygon: Any) -> dict[str, Any]:
    return {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
            "polygon": PolygonResource(base_url=sandbox.base_url, backoff_seconds=0.01, **polygon)}


def _in_universes(conn: sa.Connection, ticker: str) -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM cache_entries WHERE {UNIVERSES} "  # noqa: S608
                                "AND value::text LIKE :t"), {"t": f'%"{ticker}"%'}).scalar_one()


def test_a_load_stores_delisted_tickers_inactive_with_bars_to_their_last_session(
        instance: DagsterInstance, database_uri: str, redis_url: str, sandbox: SandboxServer) -> None:
    resources = _resources(database_uri, redis_url, sandbox)
    tickers = ["AAPL", "PARA", "HOLX", "NOSUCH1"]
    result = run_load(instance, resources, {"symbols": tickers, "years": 2}, tickers,
                      ["symbols", "ohlcv_daily"])
    assert result.success
    sym = metadata(result, "symbols")
    assert sym["delisted_tickers"] == ["PARA", "HOLX"] and sym["unknown_tickers"] == ["NOSUCH1"]
    assert checks(result)["no_missing_sessions"] and checks(result)["bars_are_valid"]
    end = last_completed_session()
    start = history_start(end, years=2)
    engine = sa.create_engine(database_uri)
    with engine.connect() as conn:
        rows = {r[0]: r[1:] for r in conn.execute(sa.text(
            "SELECT s.symbol, s.active, s.delisted_date, min(d.date), max(d.date), count(d.date) "
            "FROM symbols s LEFT JOIN ohlcv_daily d USING (symbol) GROUP BY 1, 2, 3"))}
    for ticker in ("PARA", "HOLX"):
        delisted = sandbox.state.securities[ticker].delisted
        traded = sessions_between(start, delisted - timedelta(days=1))  # it no longer trades that day
        assert rows[ticker] == (False, delisted, traded[0].astype(object), traded[-1].astype(object),
                                len(traded))
        assert traded[-1].astype(object) < delisted
    assert rows["AAPL"][:2] == (True, None) and rows["AAPL"][3] == end
    assert "NOSUCH1" not in rows

    again = run_load(instance, resources, {"symbols": tickers, "years": 2}, tickers[:3], ["ohlcv_daily"])
    calls = run_view(instance, again, "ohlcv_daily")["api_calls_by_endpoint"]
    assert "aggs" not in dict(calls)  # nothing left


def test_the_monthly_refresh_marks_new_delistings_inactive_and_the_rebuild_drops_them(
        instance: DagsterInstance, database_uri: str, redis_url: str, sandbox: SandboxServer,
        redis_client: Any) -> None:
    resources = _resources(database_uri, redis_url, sandbox, requests_per_minute="600")
    dow30 = list(index_universe("dow30"))
    assert run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30,
                    ["symbols", "ohlcv_daily"]).success
    defs = Definitions.merge(market_data_defs, cache_defs, orchestration_defs,
                             Definitions(resources=resources))
    with build_schedule_context(instance=instance) as context:
        request = monthly_full_rebuild(context)
    assert defs.resolve_job_def(request.job_name or "monthly_full_rebuild_job").execute_in_process(
        instance=instance, run_config=request.run_config).success
    engine = sa.create_engine(database_uri)
    with engine.connect() as conn:
        assert _in_universes(conn, "KO") > 0 and _in_universes(conn, "MSFT") > 0

    today = sandbox.state.now().date()
    sandbox.delist("KO", today)
    pubsub = redis_client.pubsub()
    pubsub.subscribe("universe_updates")
    pubsub.get_message(timeout=1)
    monthly = defs.resolve_job_def("monthly_full_rebuild_job").execute_in_process(
        instance=instance, run_config=request.run_config)
    assert monthly.success
    sym = metadata(monthly, "symbols")
    assert sym["newly_delisted"] == ["KO"]
    # 600 a minute × 45 minutes: every detail fits; KO is delisted, so not asked for again
    assert sym["details_fetched"] == len(dow30) - 1 and sym["details_left_for_next_refresh"] == 0
    with engine.connect() as conn:
        ko = conn.execute(sa.text("SELECT active, delisted_date FROM symbols WHERE symbol = 'KO'")).one()
        assert tuple(ko) == (False, today)
        assert _in_universes(conn, "KO") == 0 and _in_universes(conn, "MSFT") > 0
    messages = [json.loads(m["data"]) for m in iter(lambda: pubsub.get_message(timeout=2), None)
                if m["type"] == "message"]
    removed = {ident for m in messages for ident, c in m["universes"].items() if "KO" in c["removed"]}
    assert removed and all(ident.startswith(("stock_universe", "stock_etf_combo")) for ident in removed)
    pubsub.close()


def test_the_monthly_details_batch_is_sized_to_the_budget_oldest_first(
        instance: DagsterInstance, database_uri: str, redis_url: str, sandbox: SandboxServer) -> None:
    resources = _resources(database_uri, redis_url, sandbox, requests_per_minute="600")
    dow30 = list(index_universe("dow30"))
    assert run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30, ["symbols"]).success
    with sa.create_engine(database_uri).begin() as conn:  # AAPL and MSFT hold the oldest details
        conn.execute(sa.text("UPDATE symbols SET details_updated_at = now() - interval '40 days' "
                             "WHERE symbol IN ('AAPL', 'MSFT')"))
    config = {"max_details_age_days": 0, "check_delistings": True, "details_batch_minutes": 0.01}
    result = load_job_with(resources).execute_in_process(
        instance=instance, run_config={"ops": {"symbols": {"config": config}}},
        asset_selection=[AssetKey("symbols")])
    sym = metadata(result, "symbols")
    # 600 a minute × 0.01 minutes × 80% = 4 calls, one spent on the active list: 3 details calls
    assert sym["details_fetched"] == 3 and sym["details_left_for_next_refresh"] == len(dow30) - 3
    with sa.create_engine(database_uri).connect() as conn:
        newest = set(conn.execute(sa.text(
            "SELECT symbol FROM symbols ORDER BY details_updated_at DESC LIMIT 3")).scalars())
    assert {"AAPL", "MSFT"} < newest


def load_job_with(resources: dict[str, Any]) -> Any:
    defs = Definitions.merge(market_data_defs, Definitions(resources=resources))
    return defs.resolve_job_def(load_job.name)
