"""Market data assets as Dagster runs them: real PostgreSQL, real Redis, real HTTP to the sandbox.

The sandbox runs on the real clock here, so "the last completed session" is today's, as in production.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, Definitions, build_sensor_context

from tickstock_pipelines.assets.market_data import market_data_defs
from tickstock_pipelines.assets.partitions import SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.orchestration.launch import RANGE_END, RANGE_START
from tickstock_pipelines.orchestration.new_symbols import new_symbols_sensor
from tickstock_pipelines_tests.support.market_data_runs import (
    checks,
    cli_window,
    load_job_with,
    metadata,
    run_load,
    totals,
)
from tickstock_sandbox import SandboxServer


def sessions_since(start: date) -> int:
    return len(sessions_between(start, last_completed_session()))


def test_load_stores_symbols_bars_and_etf_metadata_and_a_rerun_costs_nothing(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    config = {"symbols": ["aapl", "MSFT", "SPY", "QQQZZ"], "months": 3}
    first = run_load(instance, resources, config, ["AAPL", "MSFT", "SPY", "QQQZZ"],
                     ["symbols", "ohlcv_daily", "etf_metadata"])
    assert first.success
    sym = metadata(first, "symbols")
    assert sym["unknown_tickers"] == ["QQQZZ"] and sym["details_fetched"] == 3 and sym["sandbox"] is True
    bars = totals(instance, first, "ohlcv_daily")
    end = last_completed_session()
    engine = sa.create_engine(database_uri)
    with engine.connect() as conn:
        start = conn.execute(sa.text(
            "SELECT start_date FROM coverage_targets WHERE symbol = 'AAPL'")).scalar_one()
        per_symbol = dict(conn.execute(sa.text(
            "SELECT symbol, count(*) FROM ohlcv_daily GROUP BY symbol")).all())
        last = conn.execute(sa.text("SELECT max(date) FROM ohlcv_daily")).scalar_one()
        aapl = conn.execute(sa.text("SELECT type, sector, name FROM symbols WHERE symbol = 'AAPL'")).one()
        spy = conn.execute(sa.text("SELECT type, etf_type, issuer, correlation_reference, aum_millions, "
                                   "expense_ratio, daily_volume_avg FROM symbols WHERE symbol = 'SPY'")).one()
        unknown_rows = conn.execute(sa.text(
            "SELECT count(*) FROM symbols WHERE symbol = 'QQQZZ'")).scalar_one()
    assert start == history_start(end, months=3)
    assert per_symbol == {s: sessions_since(start) for s in ("AAPL", "MSFT", "SPY")}
    assert last == end
    assert bars["rows_inserted"] == 3 * sessions_since(start) and bars["symbols"] == 3
    first_session = sessions_between(start, end)[0].astype(object)
    for symbol in ("AAPL", "MSFT", "SPY"):  # each partition carries its own symbol's figures
        own = metadata(first, "ohlcv_daily", symbol)
        assert own["rows_inserted"] == own["dagster/row_count"] == per_symbol[symbol]
        assert own["aggregates_calls"] == 1 and own["date_range"] == f"{first_session} .. {end}"
    assert metadata(first, "ohlcv_daily", "QQQZZ")["skipped"] == "no symbols row"
    assert aapl == ("CS", "Technology", "Apple Inc.")
    assert spy[:2] == ("ETF", "ETF") and spy[2] == "State Street Global Advisors"
    assert spy[4] is None and spy[5] is None and spy[6] > 0  # AUM and expense ratio never invented
    assert unknown_rows == 0
    assert checks(first)["bars_are_valid"] and checks(first)["no_missing_sessions"]

    again = run_load(instance, resources, config, ["AAPL", "MSFT", "SPY"], ["symbols", "ohlcv_daily"])
    assert again.success
    again_bars = totals(instance, again, "ohlcv_daily")
    assert again_bars["rows_inserted"] == again_bars["rows_updated"] == 0
    assert dict(again_bars["api_calls_by_endpoint"]) == {"splits": 1}  # no bar call at all
    assert metadata(again, "symbols")["details_fetched"] == 0  # details are fresh


def test_many_symbols_short_history_use_grouped_daily(instance: DagsterInstance,
                                                      resources: dict[str, Any]) -> None:
    result = run_load(instance, resources, {"universe": "dow30", "months": 1}, _dow30(),
                      ["symbols", "ohlcv_daily"])
    assert result.success
    bars = totals(instance, result, "ohlcv_daily")
    calls = dict(bars["api_calls_by_endpoint"])
    assert bars["plan"] == "grouped daily"
    assert calls.get("grouped_daily") == bars["grouped_daily_calls_planned"] < 30
    assert "aggs" not in calls


def _dow30() -> list[str]:
    from tickstock_pipelines.loading.requests import index_universe

    return list(index_universe("dow30") or ())


def test_new_symbols_sensor_adds_partitions_and_requests_one_backfill_run(
        instance: DagsterInstance, resources: dict[str, Any]) -> None:
    job = load_job_with(resources)
    for symbols, priority in ((["AAPL", "MSFT"], "low"), (["KO", "AAPL"], "high")):
        job.execute_in_process(instance=instance, asset_selection=[AssetKey("symbols")], run_config={
            "ops": {"symbols": {"config": {"symbols": symbols, "priority": priority}}}})
    with build_sensor_context(instance=instance, resources={"database": resources["database"]}) as context:
        result = new_symbols_sensor(context)
    [request] = result.run_requests
    [partitions] = result.dynamic_partitions_requests
    assert list(partitions.partition_keys) == ["AAPL", "KO", "MSFT"]
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("AAPL", "MSFT")
    assert request.tags["dagster/priority"] == "1"  # the Launchpad's "high" request, the most urgent
    assert set(request.asset_selection) == {AssetKey("ohlcv_daily"), AssetKey("etf_metadata")}

    instance.add_dynamic_partitions(SYMBOL_PARTITIONS_NAME, list(partitions.partition_keys))
    backfill = job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection),
                                      tags=request.tags)
    assert backfill.success
    assert instance.get_materialized_partitions(AssetKey("ohlcv_daily")) == {"AAPL", "KO", "MSFT"}
    with build_sensor_context(instance=instance, resources={"database": resources["database"]}) as context:
        assert not getattr(new_symbols_sensor(context), "run_requests", None)  # nothing new any more


def test_a_split_after_the_fetch_refetches_that_history(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    assert run_load(instance, resources, {"symbols": ["KO", "PEP"], "months": 2}, ["KO", "PEP"],
                    ["symbols", "ohlcv_daily"]).success
    engine = sa.create_engine(database_uri)
    split_day = sessions_between(last_completed_session() - timedelta(days=20), last_completed_session())[0]
    with engine.begin() as conn:  # the history was fetched a month ago; the split executed since
        conn.execute(sa.text("UPDATE coverage_targets SET fetched_at = now() - interval '30 days'"))
        before = conn.execute(sa.text("SELECT close FROM ohlcv_daily WHERE symbol = 'KO' ORDER BY date "
                                      "LIMIT 1")).scalar_one()
    live_sandbox.add_split("KO", split_day.astype(object), 1, 2)
    result = run_load(instance, resources, None, ["KO", "PEP"], ["ohlcv_daily"])
    assert result.success
    bars = totals(instance, result, "ohlcv_daily")
    assert bars["refetched_after_split"] == 1
    assert metadata(result, "ohlcv_daily", "KO")["refetched_after_split"] is True
    assert metadata(result, "ohlcv_daily", "PEP")["refetched_after_split"] is False
    with engine.connect() as conn:
        after = conn.execute(sa.text("SELECT close FROM ohlcv_daily WHERE symbol = 'KO' ORDER BY date "
                                     "LIMIT 1")).scalar_one()
    assert after == pytest.approx(before / 2, rel=0.01)
    assert bars["rows_updated"] > 0 and dict(bars["api_calls_by_endpoint"]).get("aggs") == 1


def test_invalid_bars_are_not_stored_and_fail_the_check(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    live_sandbox.inject("invalid_bars", path="/v2/aggs", ticker="MSFT", invalid="high_lt_low", count=1)
    result = run_load(instance, resources, {"symbols": ["MSFT"], "months": 1}, ["MSFT"],
                      ["symbols", "ohlcv_daily"])
    assert result.success
    assert checks(result)["bars_are_valid"] is False
    with sa.create_engine(database_uri).connect() as conn:
        bad = conn.execute(sa.text("SELECT count(*) FROM ohlcv_daily WHERE high < low")).scalar_one()
    assert bad == 0


def test_bad_input_fails_the_run_and_writes_nothing(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    for config in ({"universe": "no_such_universe"}, {"symbols": ["AAPL;DROP TABLE symbols"]},
                   {"symbols": ["AAPL"], "years": 11}, {"symbols": ["ZZZZQ1", "ZZZZQ2"]}):
        job = load_job_with(resources)
        symbols_config, tags = cli_window(config)  # years: the run's tickstock/history tag, as the CLI sets
        result = job.execute_in_process(instance=instance, asset_selection=[AssetKey("symbols")],
                                        run_config={"ops": {"symbols": {"config": symbols_config}}},
                                        tags=tags, raise_on_error=False)
        assert not result.success, config
    with sa.create_engine(database_uri).connect() as conn:
        counts = conn.execute(sa.text("SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM "
                                      "load_requests), (SELECT count(*) FROM coverage_targets)")).one()
    assert counts == (0, 0, 0)


def test_minute_bars_stream_into_timestamptz_rows_for_the_requested_symbols_only(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    assert run_load(instance, resources, {"symbols": ["KO"], "months": 1}, ["KO"],
                    ["symbols", "ohlcv_daily"]).success
    result = run_load(instance, resources, {"symbols": ["PEP"], "months": 1, "timespan": "minute"},
                      ["KO", "PEP"], ["symbols", "ohlcv_minute"])
    assert result.success
    minute = totals(instance, result, "ohlcv_minute")
    with sa.create_engine(database_uri).connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT symbol, count(*), count(DISTINCT (timestamp AT TIME ZONE 'America/New_York')::date), "
            "min((timestamp AT TIME ZONE 'America/New_York')::time), "
            "max((timestamp AT TIME ZONE 'America/New_York')::time) FROM ohlcv_minute GROUP BY symbol")).all()
    [(symbol, count, days, first, last)] = rows  # KO asked for day bars only
    start = history_start(last_completed_session(), months=1)
    assert symbol == "PEP" and days == sessions_since(start) and count == minute["rows_inserted"]
    assert first.isoformat() >= "09:30:00" and last.isoformat() <= "15:59:00"
    assert minute["pages"] >= 1 and dict(minute["api_calls_by_endpoint"]) == {"aggs": minute["pages"]}


def test_a_failed_details_call_never_downgrades_a_good_row(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    assert run_load(instance, resources, {"symbols": ["AAPL"], "months": 1}, ["AAPL"], ["symbols"]).success
    engine = sa.create_engine(database_uri)
    query = sa.text("SELECT name, market_cap, sector, sic_code, details_updated_at FROM symbols")
    with engine.connect() as conn:
        before = conn.execute(query).one()
    live_sandbox.inject("500", path="/v3/reference/tickers/AAPL")
    result = run_load(instance, resources, {"symbols": ["AAPL"], "max_details_age_days": 0}, ["AAPL"],
                      ["symbols"])
    assert not result.success  # the only requested ticker could not be read: refused, nothing written
    with engine.connect() as conn:
        assert conn.execute(query).one() == before
    live_sandbox.reset()
    live_sandbox.inject("500", path="/v3/reference/tickers/AAPL")
    mixed = run_load(instance, resources, {"symbols": ["AAPL", "MSFT"], "max_details_age_days": 0},
                     ["AAPL", "MSFT"], ["symbols"])
    assert mixed.success and metadata(mixed, "symbols")["failed_tickers"] == ["AAPL"]
    with engine.connect() as conn:
        aapl = conn.execute(sa.text("SELECT name, market_cap, sector, sic_code, details_updated_at "
                                    "FROM symbols WHERE symbol = 'AAPL'")).one()
    assert aapl == before


def test_weekly_refresh_and_theme_review_run_end_to_end(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str, redis_client: Any) -> None:
    from tickstock_pipelines.assets.cache import cache_defs
    from tickstock_pipelines.orchestration import orchestration_defs
    from tickstock_pipelines.orchestration.schedules import weekly_minute_refresh, weekly_refresh

    dow30 = _dow30()
    assert run_load(instance, resources, {"universe": "dow30", "months": 1}, dow30,
                    ["symbols", "ohlcv_daily"]).success
    assert run_load(instance, resources, {"symbols": ["KO"], "months": 1, "timespan": "minute"}, ["KO"],
                    ["symbols", "ohlcv_minute"]).success
    with sa.create_engine(database_uri).begin() as conn:  # a week later: the last session is missing
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE date = (SELECT max(date) FROM ohlcv_daily)"))
        minute_bars = conn.execute(sa.text(
            "DELETE FROM ohlcv_minute WHERE (timestamp AT TIME ZONE 'America/New_York')::date = "
            "(SELECT max((timestamp AT TIME ZONE 'America/New_York')::date) FROM ohlcv_minute)")).rowcount
        conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = loaded_end - 7"))
    from dagster import build_schedule_context

    with build_schedule_context(instance=instance) as context:
        request, minute_request = weekly_refresh(context), weekly_minute_refresh(context)
    defs = Definitions.merge(market_data_defs, cache_defs, orchestration_defs,
                             Definitions(resources=resources))
    weekly = defs.resolve_job_def("weekly_refresh_job").execute_in_process(
        instance=instance, run_config=request.run_config, tags=request.tags)
    weekly_minute = defs.resolve_job_def("weekly_minute_refresh_job").execute_in_process(
        instance=instance, run_config=minute_request.run_config, tags=minute_request.tags)
    assert weekly.success and weekly_minute.success
    sym, bars = metadata(weekly, "symbols"), totals(instance, weekly, "ohlcv_daily")
    assert [r["universe"] for r in sym["request"]] == ["dow30"] and sym["details_fetched"] == 0
    assert bars["plan"] == "grouped daily" and bars["rows_inserted"] == len(dow30)
    assert minute_bars > 0 and totals(instance, weekly_minute, "ohlcv_minute")["rows_inserted"] == minute_bars
    assert metadata(weekly, "market_cap")["entries_written"] == 5

    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    review = defs.resolve_job_def("theme_review_job").execute_in_process(instance=instance)
    assert review.success
    report = {r["key"]: r for r in metadata(review, "theme_review")["report_json"]}
    assert "PLTR" in report["ai"]["missing"] and "NVDA" not in report["ai"]["missing"]
    messages = [m for m in iter(lambda: pubsub.get_message(timeout=2), None) if m["type"] == "message"]
    assert any(b'"theme_review"' in m["data"] for m in messages)
