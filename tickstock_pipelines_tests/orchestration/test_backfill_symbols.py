"""`backfill_symbols`: scattered symbol partitions in one run, each partition with its own figures.

Dagster 1.13 turns a UI backfill of non-adjacent partitions into one run per contiguous range; this job
is the operator's one-run way (see the README's operator guide). Real runs against the sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, Definitions

from tickstock_pipelines.assets.bar_metadata import run_totals
from tickstock_pipelines.assets.partitions import SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.orchestration.backfill_symbols import STEP, backfill_symbols
from tickstock_pipelines_tests.support.market_data_runs import run_load

ADDED = ["AAPL", "KO", "MSFT", "JPM", "NVDA"]  # partitions in this order: AAPL, MSFT, NVDA not adjacent
PICKED = ["AAPL", "MSFT", "NVDA"]


def _backfill(instance: DagsterInstance, resources: dict[str, Any], symbols: Any) -> Any:
    job = Definitions(jobs=[backfill_symbols], resources=resources).resolve_job_def("backfill_symbols")
    config = {"ops": {STEP: {"config": {"symbols": symbols}}}}
    return job.execute_in_process(instance=instance, raise_on_error=False, run_config=config)


def _bars(database_uri: str) -> dict[str, int]:
    with sa.create_engine(database_uri).connect() as conn:
        return dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_daily GROUP BY symbol")).all())


@pytest.fixture
def loaded_symbols(instance: DagsterInstance, resources: dict[str, Any]) -> None:
    """Five symbols stored with their partitions but no bars yet (AAPL wants more history than the rest)."""
    for keys, months in ((["AAPL"], 3), (ADDED[1:], 1)):
        assert run_load(instance, resources, {"symbols": keys, "months": months}, keys, ["symbols"]).success
    assert instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME) == ADDED


def test_three_scattered_symbols_are_one_run_storing_exactly_their_bars_with_their_own_figures(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str,
        loaded_symbols: None) -> None:
    result = _backfill(instance, resources, "nvda, AAPL,MSFT")
    assert result.success
    stored = _bars(database_uri)
    assert set(stored) == set(PICKED)
    assert stored["AAPL"] > stored["MSFT"] == stored["NVDA"] > 15  # three months against one
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey("ohlcv_daily")]
    figures = {e.partition: {k: v.value for k, v in e.materialization.metadata.items()} for e in events}
    assert sorted(figures) == PICKED and len(events) == len(PICKED)
    for symbol in PICKED:
        assert figures[symbol]["rows_inserted"] == stored[symbol], symbol
        assert figures[symbol]["dagster/row_count"] == stored[symbol]
    totals = run_totals(instance.get_run_by_id(result.run_id).tags, "ohlcv_daily")
    assert totals["rows_inserted"] == sum(stored.values()) and totals["symbols"] == 3
    assert {e.check_name: e.passed for e in result.get_asset_check_evaluations()} == {
        "bars_are_valid": True, "no_missing_sessions": True, "last_bar_is_last_completed_session": True}
    again = _backfill(instance, resources, ["MSFT"])  # a list works too; nothing missing, nothing fetched
    assert again.success and run_totals(instance.get_run_by_id(again.run_id).tags, "ohlcv_daily")[
        "rows_inserted"] == 0


REFUSED = [
    ("AAPL,TSLA", "not loaded, so no ohlcv_daily partition: TSLA (add them first: `tickstock load "
                  "--symbols TSLA`"),
    ("AAPL, MS FT!", "invalid ticker 'FT!': 1-10 characters of A-Z, 0-9 and '.'"),
    ("", "no symbols given: pass a comma-separated list such as AAPL,MSFT,BRK.B"),
    ({"AAPL": 1}, "symbols must be a comma-separated string or a list of tickers"),
]


def test_bad_symbols_fail_at_the_start_in_one_line_and_nothing_is_written(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str,
        loaded_symbols: None) -> None:
    for symbols, said in REFUSED:
        result = _backfill(instance, resources, symbols)
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        message = failure.step_failure_data.error.message.strip()
        assert said in message and "\n" not in message, message
        assert not result.get_asset_materialization_events()
    assert _bars(database_uri) == {}
