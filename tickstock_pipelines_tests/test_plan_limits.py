"""Plan limits against a sandbox whose plan serves 2 years (the real API's 403 NOT_AUTHORIZED body for
older bars): `tickstock load --years 3` stores the 2 years, says so in one line, exits 0, remembers the
limit, and the next load asks nothing beyond it (contract §9, "Plan limits")."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tickstock_pipelines.loading.plan_limits import today, years_before
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.sandbox import SandboxConfig, SandboxServer
from tickstock_pipelines_tests.cli_helpers import stray_lines, tickstock


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
