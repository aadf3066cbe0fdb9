"""A symbol listed inside its window: its list date, not an aggregates call, proves the sessions before it.

`all_etfs` takes its rows from the ticker list, which has no list date, so grouped daily leaves a new ETF
out of every session before its listing. One details call (its list date) completes its coverage with no
bar call; a ticker the grouped answers leave out after its listing still gets its one aggregates call.
Real PostgreSQL, real Dagster runs, real HTTP to the sandbox (its details carry the list date its bars
start at)."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from dagster import DagsterInstance

from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines_tests.support.market_data_runs import checks, run_load, run_view
from tickstock_sandbox import SandboxServer
from tickstock_sandbox.query import AGGS, DETAILS, GROUPED

DAILY = ["symbols", "ohlcv_daily"]
REQUEST = {"universe": "all_etfs", "months": 1}
NEW = "ZNEW"  # an ETF listed ten sessions into the month


def _window() -> list[date]:
    end = last_completed_session()
    return [d.astype(object) for d in sessions_between(history_start(end, months=1), end)]


def _add_new_etf(sandbox: SandboxServer) -> date:
    listed = _window()[10]
    sandbox.add_ticker(NEW, type="ETF", name="New Listing ETF", price=25.0, list_date=listed)
    return listed


def _requests(sandbox: SandboxServer, since: int) -> Counter[tuple[str, str | None]]:
    """(endpoint, ticker) of the details and bar requests the sandbox saw after the first `since`."""
    seen = sandbox.stats()["requests"][since:]
    return Counter((r["endpoint"], r["ticker"] if r["endpoint"] != GROUPED else None)
                   for r in seen if r["endpoint"] in (DETAILS, AGGS, GROUPED))


def _etfs(sandbox: SandboxServer) -> list[str]:
    return sorted(t for t, s in sandbox.state.securities.items() if s.type == "ETF" and s.active)


def _stored(database_uri: str, symbol: str) -> tuple[Any, ...]:
    """(bars, first bar, loaded window, list date) of one symbol."""
    with sa.create_engine(database_uri).connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM ohlcv_daily d WHERE d.symbol = s.symbol), "
            "       (SELECT min(date) FROM ohlcv_daily d WHERE d.symbol = s.symbol), "
            "       c.loaded_start, c.loaded_end, s.list_date "
            "  FROM symbols s LEFT JOIN coverage_targets c ON c.symbol = s.symbol AND c.timespan = 'day' "
            " WHERE s.symbol = :s"), {"s": symbol}).one())


def test_an_etf_listed_inside_the_window_is_complete_with_one_details_call_and_no_bar_call(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    listed = _add_new_etf(live_sandbox)
    window, etfs = _window(), _etfs(live_sandbox)
    before = live_sandbox.stats()["total_requests"]
    result = run_load(instance, resources, REQUEST, etfs, DAILY)
    assert result.success
    bars = run_view(instance, result, "ohlcv_daily")
    seen = _requests(live_sandbox, before)
    assert seen == Counter({(GROUPED, None): len(window), (DETAILS, NEW): 1}), seen
    assert bars["details_calls_for_list_dates"] == 1 and bars["proven_before_list_date"] == 1
    assert bars["aggregates_calls_for_missing"] == 0 and bars["not_fetched"] == {}
    after = window[window.index(listed):]
    assert _stored(database_uri, NEW) == (len(after), listed, window[0], window[-1], listed)
    assert checks(result)["no_missing_sessions"]

    again = live_sandbox.stats()["total_requests"]
    rerun = run_load(instance, resources, REQUEST, etfs, DAILY)
    assert rerun.success and _requests(live_sandbox, again) == Counter()  # coverage is complete


def test_a_ticker_left_out_of_grouped_daily_still_gets_its_one_aggregates_call_and_no_details_call(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """SPY (always there) and the new ETF (there from its listing) left out of every grouped answer: grouped
    daily never shows them, so no list date could prove anything: one aggregates call each, no details call;
    both complete."""
    listed = _add_new_etf(live_sandbox)
    live_sandbox.configure(grouped_omit=["SPY", NEW])
    window, etfs = _window(), _etfs(live_sandbox)
    before = live_sandbox.stats()["total_requests"]
    result = run_load(instance, resources, REQUEST, etfs, DAILY)
    assert result.success
    bars = run_view(instance, result, "ohlcv_daily")
    seen = _requests(live_sandbox, before)
    assert seen == Counter({(GROUPED, None): len(window), (AGGS, "SPY"): 1, (AGGS, NEW): 1}), seen
    assert bars["aggregates_calls_for_missing"] == 2 and bars["details_calls_for_list_dates"] == 0
    after = window[window.index(listed):]
    assert _stored(database_uri, NEW)[:4] == (len(after), listed, window[0], window[-1])
    assert _stored(database_uri, "SPY")[:4] == (len(window), window[0], window[0], window[-1])
    assert checks(result)["no_missing_sessions"]
