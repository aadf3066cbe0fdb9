"""Loaded means received (contract §9): a session counts for a symbol only when its bar arrived or a
per-symbol aggregates answer showed no trade. Real PostgreSQL, real Dagster runs, real HTTP to the sandbox
with its real-API switches: tickers left out of grouped daily, a session not yet published."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from dagster import DagsterInstance

from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.sandbox import SandboxServer
from tickstock_pipelines.sandbox.api import AGGS, GROUPED
from tickstock_pipelines_tests import test_market_data_assets as _assets
from tickstock_pipelines_tests.test_market_data_assets import checks, metadata, run_load

instance, live_sandbox, resources = _assets.instance, _assets.live_sandbox, _assets.resources
DAILY = ["symbols", "ohlcv_daily"]
OMITTED = ["KO", "MCD"]


def dow30() -> list[str]:
    return list(index_universe("dow30") or ())


def bar_requests(sandbox: SandboxServer, since: int = 0) -> Counter[tuple[str, str | None]]:
    """(endpoint, ticker) of every bar request the sandbox saw after the first `since` requests."""
    seen = sandbox.stats()["requests"][since:]
    return Counter((r["endpoint"], r["ticker"] if r["endpoint"] == AGGS else None)
                   for r in seen if r["endpoint"] in (AGGS, GROUPED))


def bars_per_symbol(database_uri: str) -> dict[str, int]:
    with sa.create_engine(database_uri).connect() as conn:
        return dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_daily GROUP BY symbol")).all())


def loaded_window(database_uri: str, symbol: str) -> tuple[date | None, date | None]:
    with sa.create_engine(database_uri).connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT loaded_start, loaded_end FROM coverage_targets WHERE symbol = :s AND timespan = 'day'"),
            {"s": symbol}).one())


def month_sessions() -> int:
    end = last_completed_session()
    return len(sessions_between(history_start(end, months=1), end))


def test_tickers_left_out_of_grouped_daily_are_fetched_per_symbol_in_the_same_run(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """The issue's reproduction: dow30, one month, KO (and MCD) dropped from every grouped answer. One load
    stores every bar, with exactly one extra aggregates call per omitted symbol; a re-run asks for nothing."""
    live_sandbox.configure(grouped_omit=OMITTED)
    before = live_sandbox.stats()["total_requests"]
    result = run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30(), DAILY)
    assert result.success
    bars = metadata(result, "ohlcv_daily")
    requests = bar_requests(live_sandbox, before)
    assert bars["plan"] == "grouped daily"
    assert requests[(GROUPED, None)] == bars["grouped_daily_calls_planned"]
    assert {k: n for k, n in requests.items() if k[0] == AGGS} == {(AGGS, "KO"): 1, (AGGS, "MCD"): 1}
    assert bars["aggregates_calls_for_missing"] == 2
    assert bars_per_symbol(database_uri) == {s: month_sessions() for s in dow30()}
    assert bars["not_fetched"] == {} and bars["failed_symbols"] == {}
    assert checks(result)["no_missing_sessions"]

    again = live_sandbox.stats()["total_requests"]
    rerun = run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30(), DAILY)
    assert rerun.success and bar_requests(live_sandbox, again) == Counter()  # coverage is complete


def test_an_unpublished_session_is_left_for_the_next_run_never_recorded_as_no_trade(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """Grouped daily answers the last completed session empty: nobody's coverage reaches it, no symbol is
    fetched per symbol for it, the run warns; once published, the next run fetches just that session."""
    end = last_completed_session()
    previous = sessions_between(history_start(end, months=1), end)[-2].astype(object)
    live_sandbox.configure(grouped_unpublished_sessions=1)
    result = run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30(), DAILY)
    assert result.success
    bars = metadata(result, "ohlcv_daily")
    assert bars["unpublished_sessions"] == [end.isoformat()]
    assert bars["aggregates_calls_for_missing"] == 0 and bars["not_fetched"] == {}
    assert bars_per_symbol(database_uri) == {s: month_sessions() - 1 for s in dow30()}
    assert {loaded_window(database_uri, s)[1] for s in dow30()} == {previous}
    [warning] = [e.user_message for e in instance.all_logs(result.run_id)
                 if e.level == logging.WARNING and "not yet published" in e.user_message]
    assert warning.endswith(f"for {end}: left for the next run")

    live_sandbox.configure(grouped_unpublished_sessions=0)
    since = live_sandbox.stats()["total_requests"]
    later = run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30(), DAILY)
    assert later.success
    assert bar_requests(live_sandbox, since) == Counter({(GROUPED, None): 1})
    assert bars_per_symbol(database_uri) == {s: month_sessions() for s in dow30()}
    assert {loaded_window(database_uri, s)[1] for s in dow30()} == {end}
