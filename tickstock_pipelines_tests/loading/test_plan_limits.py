"""Plan limits against a sandbox whose plan serves 2 years (the real API's 403 NOT_AUTHORIZED body for
older bars): `tickstock load --years 3` stores the 2 years, says so in one line, exits 0, remembers the
limit, and the next load asks nothing beyond it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tickstock_pipelines.loading.plan_limits import today, years_before
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines_tests.support.cli_helpers import stray_lines, tickstock
from tickstock_sandbox import SandboxConfig, SandboxServer

GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{date}"
AGGS = "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}"


@pytest.fixture
def two_year_plan() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(plan_history_years=2)) as server:  # real clock, as `tickstock` runs
        yield server


@pytest.fixture
def env(database_uri: str, redis_url: str, two_year_plan: SandboxServer) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
                   "POLYGON_BASE_URL": two_year_plan.base_url}
    environment.pop("DAGSTER_HOME", None)
    return environment


def _refused(server: SandboxServer) -> int:
    return server.stats()["status_codes"].get("403", 0)


def test_a_3_year_load_on_a_2_year_plan_stores_2_years_says_so_once_and_remembers(
        env: dict[str, str], database_uri: str, two_year_plan: SandboxServer) -> None:
    symbols = "AAPL,MSFT"
    result = tickstock(env, "load", "--symbols", symbols, "--years", "3")
    assert result.returncode == 0, result.stderr[-3000:]
    about_plan = [line for line in result.stderr.splitlines() if "plan" in line.lower() and "limit" in line]
    assert len(about_plan) == 1 and "serves 2 years of day bars" in about_plan[0], result.stderr[-3000:]
    assert stray_lines(result.stderr) == []
    oldest, end = years_before(today(), 2), last_completed_session()
    served = sessions_between(oldest, end)
    engine = sa.create_engine(database_uri)
    with engine.connect() as conn:
        spans = conn.execute(sa.text(
            "SELECT symbol, min(date), max(date), count(*) FROM ohlcv_daily GROUP BY symbol")).all()
        remembered = conn.execute(sa.text("SELECT timespan, years FROM plan_limits")).all()
    assert len(spans) == len(symbols.split(","))
    for _symbol, first, last, count in spans:
        assert (first, last, count) == (served[0].astype(object), end, len(served))
    assert remembered == [("day", 2)]
    refused = _refused(two_year_plan)
    assert refused >= 1

    again = tickstock(env, "load", "--symbols", symbols, "--years", "3")
    assert again.returncode == 0, again.stderr[-3000:]
    assert _refused(two_year_plan) == refused  # no call beyond the plan's horizon
    assert sum(1 for line in again.stderr.splitlines() if "plan limit" in line) == 1


def test_the_newest_session_not_yet_available_to_the_plan_is_left_for_the_next_run(
        database_uri: str, redis_url: str, two_year_plan: SandboxServer) -> None:
    from dagster import instance_for_test

    from tickstock_pipelines.resources.database import DatabaseResource
    from tickstock_pipelines.resources.polygon import PolygonResource
    from tickstock_pipelines.resources.redis import RedisResource
    from tickstock_pipelines_tests.support.market_data_runs import run_load

    resources = {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
                 "polygon": PolygonResource(base_url=two_year_plan.base_url, backoff_seconds=0.01)}
    two_year_plan.configure(plan_delayed_sessions=1)
    end = last_completed_session()
    previous = sessions_between(years_before(end, 1), end)[-2].astype(object)
    engine = sa.create_engine(database_uri)
    with instance_for_test() as instance:
        first = run_load(instance, resources, {"symbols": ["AAPL", "MSFT"], "months": 1}, ["AAPL", "MSFT"],
                         ["symbols", "ohlcv_daily"])
        assert first.success
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT max(date) FROM ohlcv_daily")).scalar_one() == previous
        two_year_plan.configure(plan_delayed_sessions=0)  # a day later the plan serves it
        second = run_load(instance, resources, None, ["AAPL", "MSFT"], ["ohlcv_daily"])
        assert second.success
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT max(date), count(*) FILTER (WHERE date = :d) FROM ohlcv_daily"),
                            {"d": end}).one() == (end, 2)


@pytest.fixture
def one_year_plan() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(plan_history_years=1)) as server:
        yield server


def test_a_grouped_daily_load_beyond_the_plan_stores_what_it_reaches_and_never_asks_beyond_again(
        database_uri: str, redis_url: str, one_year_plan: SandboxServer) -> None:
    """381 ETFs over 13 months: grouped daily (one call a session) beats aggregates (one a symbol), and
    the oldest sessions answer the plan's 403: the ETFs get the year the plan serves."""
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
           "POLYGON_BASE_URL": one_year_plan.base_url}
    env.pop("DAGSTER_HOME", None)
    request = ("load", "--universe", "all_etfs", "--months", "13")
    result = tickstock(env, *request)
    assert result.returncode == 0, result.stderr[-3000:]
    about_plan = [line for line in result.stderr.splitlines() if "plan limit" in line]
    assert len(about_plan) == 1 and "serves 1 year of day bars" in about_plan[0], result.stderr[-3000:]
    assert stray_lines(result.stderr) == []
    calls, refused = one_year_plan.stats()["by_endpoint"], _refused(one_year_plan)
    assert refused >= 1  # the oldest grouped sessions answered the plan's 403
    assert calls[GROUPED] > 200 and calls.get(AGGS, 0) <= 3, calls  # grouped, plus the horizon's probes
    oldest, end = years_before(today(), 1), last_completed_session()
    served = sessions_between(oldest, end)
    with sa.create_engine(database_uri).connect() as conn:
        spans = set(conn.execute(sa.text(
            "SELECT min(date), max(date), count(*) FROM ohlcv_daily GROUP BY symbol")).all())
        etfs = conn.execute(sa.text("SELECT count(*) FROM symbols WHERE type = 'ETF'")).scalar_one()
        stored = conn.execute(sa.text("SELECT count(DISTINCT symbol) FROM ohlcv_daily")).scalar_one()
        remembered = conn.execute(sa.text("SELECT timespan, years FROM plan_limits")).all()
    assert etfs == stored > 300 and remembered == [("day", 1)]
    assert spans == {(served[0].astype(object), end, len(served))}  # every ETF listed before the horizon
    bars = calls[GROUPED] + calls.get(AGGS, 0)

    dry = tickstock(env, *request, "--dry-run")  # the plan knows the horizon: nothing left to ask
    horizon = f"day bars: nothing missing; the plan's remembered horizon (1 year, from {oldest}) cuts"
    assert dry.returncode == 0 and horizon in dry.stdout, dry.stdout + dry.stderr[-2000:]
    again = tickstock(env, *request)
    assert again.returncode == 0, again.stderr[-3000:]
    after = one_year_plan.stats()["by_endpoint"]
    assert _refused(one_year_plan) == refused and after[GROUPED] + after.get(AGGS, 0) == bars
