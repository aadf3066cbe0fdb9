"""Loaded means received: a session counts for a symbol only when its bar arrived or a
per-symbol aggregates answer showed no trade. Real PostgreSQL, real Dagster runs, real HTTP to the sandbox
with its real-API switches: tickers left out of grouped daily, a session not yet published."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from dagster import DagsterInstance

from tickstock_pipelines.loading.completeness import GIVE_UP_AFTER
from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines_tests.support.market_data_runs import checks, run_load, run_view
from tickstock_sandbox import SandboxServer
from tickstock_sandbox.query import AGGS, GROUPED

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
    bars = run_view(instance, result, "ohlcv_daily")
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
    bars = run_view(instance, result, "ohlcv_daily")
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


def test_a_symbol_whose_aggregates_always_fail_is_named_and_the_others_are_committed(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """Faults are per request: KO's aggregates answer 500 beyond the retries. AAPL and MSFT
    are stored, KO is named with its reason and sessions, the check fails; the next load asks for KO only."""
    keys = ["AAPL", "KO", "MSFT"]
    live_sandbox.inject("500", path="/v2/aggs/ticker/KO/")
    result = run_load(instance, resources, {"symbols": keys, "months": 3}, keys, DAILY)
    assert result.success
    bars = run_view(instance, result, "ohlcv_daily")
    end = last_completed_session()
    wanted = len(sessions_between(history_start(end, months=3), end))
    assert bars["plan"] == "aggregates"
    assert bars_per_symbol(database_uri) == {"AAPL": wanted, "MSFT": wanted}
    assert list(bars["failed_symbols"]) == ["KO"] and "500" in bars["failed_symbols"]["KO"]
    first = sessions_between(history_start(end, months=3), end)[0].astype(object)
    assert bars["not_fetched"]["KO"]["sessions"] == [f"{first}..{end}"]
    assert checks(result)["no_missing_sessions"] is False
    assert loaded_window(database_uri, "KO") == (None, None)

    live_sandbox.configure(faults=[])
    since = live_sandbox.stats()["total_requests"]
    again = run_load(instance, resources, {"symbols": keys, "months": 3}, keys, DAILY)
    assert again.success and checks(again)["no_missing_sessions"]
    assert bar_requests(live_sandbox, since) == Counter({(AGGS, "KO"): 1})
    assert bars_per_symbol(database_uri) == {s: wanted for s in keys}


def test_a_grouped_session_that_keeps_failing_is_retried_then_fetched_per_symbol(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """One session's grouped daily answers 500 beyond the retries, twice: its symbols are fetched per symbol
    in the same run and every bar of every other session is kept."""
    end = last_completed_session()
    days = sessions_between(history_start(end, months=1), end)
    broken = days[len(days) // 2].astype(object)
    live_sandbox.inject("500", path=f"/v2/aggs/grouped/locale/us/market/stocks/{broken}")
    result = run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30(), DAILY)
    assert result.success
    bars = run_view(instance, result, "ohlcv_daily")
    assert bars["aggregates_calls_for_missing"] == len(dow30()) and bars["failed_symbols"] == {}
    assert bars_per_symbol(database_uri) == {s: len(days) for s in dow30()}
    assert {loaded_window(database_uri, s) for s in dow30()} == {(days[0].astype(object), end)}
    assert checks(result)["no_missing_sessions"]


def test_when_every_request_fails_the_run_fails_after_a_few_requests(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """Nothing loaded is a failure, and a dead API is not asked once per symbol: after the
    first GIVE_UP_AFTER failures only the requests already in flight (2 × concurrency) are sent."""
    keys = dow30()[:24]
    assert run_load(instance, resources, {"symbols": keys, "months": 3}, keys, ["symbols"]).success
    live_sandbox.inject("500", path="/v2/aggs/ticker/")
    since = live_sandbox.stats()["total_requests"]
    result = run_load(instance, resources, None, keys, ["ohlcv_daily"])
    assert not result.success
    asked = {t for (_, t) in bar_requests(live_sandbox, since)}
    with resources["polygon"].get_client() as client:
        in_flight = client.concurrency
    assert len(asked) <= GIVE_UP_AFTER + 2 * in_flight < len(keys)
    assert bars_per_symbol(database_uri) == {}


def test_a_symbol_whose_minute_bars_always_fail_costs_only_itself(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """Minute bars too: KO's minute aggregates answer 500 beyond the retries; PEP's are committed and its
    window recorded, KO is named and keeps no window, so the next load asks for KO alone."""
    keys = ["KO", "PEP"]
    config = {"symbols": keys, "months": 1, "timespan": "minute"}
    live_sandbox.inject("500", path="/v2/aggs/ticker/KO/range/1/minute/")
    result = run_load(instance, resources, config, keys, ["symbols", "ohlcv_minute"])
    assert result.success
    bars = run_view(instance, result, "ohlcv_minute")
    assert list(bars["failed_symbols"]) == ["KO"] and "500" in bars["failed_symbols"]["KO"]
    with sa.create_engine(database_uri).connect() as conn:
        stored = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_minute")).scalars())
        windows = dict(conn.execute(sa.text("SELECT symbol, loaded_end FROM coverage_targets "
                                            "WHERE timespan = 'minute'")).all())
    assert stored == {"PEP"} and windows == {"KO": None, "PEP": last_completed_session()}

    live_sandbox.configure(faults=[])
    since = live_sandbox.stats()["total_requests"]
    again = run_load(instance, resources, config, keys, ["symbols", "ohlcv_minute"])
    assert again.success and run_view(instance, again, "ohlcv_minute")["failed_symbols"] == {}
    assert {t for (_, t) in bar_requests(live_sandbox, since)} == {"KO"}
