"""`ohlcv_minute` has its own partition set, `minute_symbols`: only symbols a request asked minute history
for, so the UI's fill figure counts what was asked. Loads go through `launch_load` (what `tickstock load`
runs, in process) and the new-symbols sensor, on real PostgreSQL, Redis and the sandbox."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from dagster import AssetKey, DagsterInstance, build_sensor_context

from tickstock_pipelines.assets.market_data import LOAD_JOB, MINUTE_LOAD_JOB
from tickstock_pipelines.assets.partitions import MINUTE_PARTITIONS_NAME, SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.loading.request import LoadRequest, Window, resolve
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.orchestration.launch import launch_load
from tickstock_pipelines.orchestration.new_symbols import new_symbols_sensor
from tickstock_pipelines_tests.support.market_data_runs import load_job_with
from tickstock_sandbox import SandboxServer


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, database_uri: str, redis_url: str,
                live_sandbox: SandboxServer) -> str:
    """The variables a `tickstock` process runs the definitions with."""
    for name, value in (("DATABASE_URI", database_uri), ("REDIS_URL", redis_url),
                        ("POLYGON_BASE_URL", live_sandbox.base_url), ("POLYGON_API_KEY", "")):
        monkeypatch.setenv(name, value)
    return database_uri


def _load(instance: DagsterInstance, database_uri: str, **fields: Any) -> Any:
    request, window = LoadRequest(**fields), Window(months=1)  # `tickstock load … --months 1`
    with sa.create_engine(database_uri).connect() as conn:
        resolved = resolve(request, conn, last_completed_session(), window=window)
    return launch_load(request, resolved, instance=instance, window=window).outcome


def _sets(instance: DagsterInstance) -> tuple[list[str], list[str]]:
    return (instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME),
            instance.get_dynamic_partitions(MINUTE_PARTITIONS_NAME))


def test_a_minute_load_fills_its_own_set_and_a_day_load_adds_nothing_there(
        instance: DagsterInstance, environment: str) -> None:
    minute = _load(instance, environment, symbols="KO,PEP", timespan="minute")
    assert minute.success, minute.error
    assert instance.get_run_by_id(minute.run_id).job_name == MINUTE_LOAD_JOB
    assert _sets(instance) == ([], ["KO", "PEP"])  # day bars were not asked for: no `symbols` partition
    assert instance.get_materialized_partitions(AssetKey("ohlcv_minute")) == {"KO", "PEP"}  # 2 of 2 filled

    day = _load(instance, environment, symbols="AAPL")
    assert day.success, day.error
    assert instance.get_run_by_id(day.run_id).job_name == LOAD_JOB
    assert _sets(instance) == (["AAPL"], ["KO", "PEP"])
    assert instance.get_materialized_partitions(AssetKey("ohlcv_daily")) == {"AAPL"}
    assert instance.get_materialized_partitions(AssetKey("ohlcv_minute")) == {"KO", "PEP"}


def test_the_sensor_backfills_minute_history_in_the_minute_set_and_day_history_in_symbols(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """Symbols stored from the UI (the `symbols` asset alone): KO with a minute target, AAPL with a day
    target. One tick: each set gets its own partitions and its own run, of the job over that set."""
    job = load_job_with(resources)
    for config in ({"symbols": ["KO"], "history": "ONE_MONTH", "timespan": "minute"},
                   {"symbols": ["AAPL"], "history": "ONE_MONTH"}):
        assert job.execute_in_process(instance=instance, asset_selection=[AssetKey("symbols")],
                                      run_config={"ops": {"symbols": {"config": config}}}).success
    with build_sensor_context(instance=instance, resources={"database": resources["database"]}) as context:
        result = new_symbols_sensor(context)
    added = {r.partitions_def_name: list(r.partition_keys) for r in result.dynamic_partitions_requests}
    assert added == {SYMBOL_PARTITIONS_NAME: ["AAPL"], MINUTE_PARTITIONS_NAME: ["KO"]}
    runs = {r.job_name: r for r in result.run_requests}
    assert set(runs) == {LOAD_JOB, MINUTE_LOAD_JOB}
    minute = runs[MINUTE_LOAD_JOB]
    assert minute.asset_selection == [AssetKey("ohlcv_minute")]
    assert (minute.tags["dagster/asset_partition_range_start"],
            minute.tags["dagster/asset_partition_range_end"]) == ("KO", "KO")
    assert runs[LOAD_JOB].asset_selection == [AssetKey("ohlcv_daily"), AssetKey("etf_metadata")]

    for name, keys in added.items():  # what the daemon does with the sensor's result
        instance.add_dynamic_partitions(name, keys)
    backfill = load_job_with(resources, MINUTE_LOAD_JOB).execute_in_process(
        instance=instance, asset_selection=minute.asset_selection, tags=minute.tags)
    assert backfill.success
    assert instance.get_materialized_partitions(AssetKey("ohlcv_minute")) == {"KO"}
    with sa.create_engine(database_uri).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_minute GROUP BY 1")).all())
    assert set(stored) == {"KO"} and stored["KO"] > 0
    with build_sensor_context(instance=instance, resources={"database": resources["database"]},
                              cursor=result.cursor) as context:  # the daemon keeps the sensor's cursor
        again = new_symbols_sensor(context)
    assert not getattr(again, "run_requests", None)  # both sets have their partitions, both runs launched
