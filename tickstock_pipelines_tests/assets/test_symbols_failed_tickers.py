"""The `symbols` asset keeps tickers whose details calls failed apart from tickers the API does not know:
its metadata lists both, with the failure reasons, and its details check fails only for the first kind.
Real PostgreSQL and Redis, real HTTP to a sandbox that answers 500 for one ticker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, Definitions, instance_for_test

from tickstock_pipelines.assets.market_data import load_job, market_data_defs
from tickstock_pipelines.assets.symbols import DETAILS_CHECK
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_sandbox import SandboxConfig, SandboxServer

REASON = "ticker details: HTTP 500 after 3 attempts"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig()) as server:  # real clock
        server.inject("500", path="/v3/reference/tickers/PEP")
        yield server


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


def _run(instance: DagsterInstance, database_uri: str, redis_url: str, sandbox: SandboxServer,
         tickers: list[str]) -> Any:
    resources = {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
                 "polygon": PolygonResource(base_url=sandbox.base_url, backoff_seconds=0.01, max_retries=2)}
    job = Definitions.merge(market_data_defs, Definitions(resources=resources)).resolve_job_def(load_job.name)
    return job.execute_in_process(
        instance=instance,
        run_config={"ops": {"symbols": {"config": {"symbols": tickers, "history": "ONE_MONTH"}}}},
        asset_selection=[AssetKey("symbols")], raise_on_error=False)


def test_failed_and_unknown_tickers_are_reported_apart(instance: DagsterInstance, database_uri: str,
                                                       redis_url: str, sandbox: SandboxServer) -> None:
    result = _run(instance, database_uri, redis_url, sandbox, ["PEP", "MCD", "NOSUCH1"])
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
    assert meta["unknown_tickers"] == ["NOSUCH1"] and meta["failed_tickers"] == ["PEP"]
    assert meta["failed_reasons"] == {"PEP": REASON} and meta["details_fetched"] == 1
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == DETAILS_CHECK]
    assert check.passed is False
    assert {k: v.value for k, v in check.metadata.items()} == {
        "failed": 1, "unknown": 1, "failed_reasons": {"PEP": REASON}, "unknown_tickers": ["NOSUCH1"]}
    with sa.create_engine(database_uri).connect() as conn:
        assert set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars()) == {"MCD"}


def test_unknown_tickers_alone_pass_the_details_check(instance: DagsterInstance, database_uri: str,
                                                      redis_url: str, sandbox: SandboxServer) -> None:
    result = _run(instance, database_uri, redis_url, sandbox, ["MCD", "NOSUCH1"])
    assert result.success
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == DETAILS_CHECK]
    assert check.passed is True


def test_when_every_call_fails_the_step_says_why_not_unknown(instance: DagsterInstance, database_uri: str,
                                                             redis_url: str, sandbox: SandboxServer) -> None:
    from tickstock_pipelines.notifications import first_step_error

    result = _run(instance, database_uri, redis_url, sandbox, ["PEP"])
    assert not result.success
    assert first_step_error(instance, result.run_id) == (
        f"none of the 1 requested tickers could be loaded: 1 failed: PEP ({REASON})")
