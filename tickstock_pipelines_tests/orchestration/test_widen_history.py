"""More history for loaded symbols from the UI: `symbols` materialized with a wider history (as the
Launchpad does), then the new-symbols sensor launches one run that fetches the older bars, once.

Real instance, real PostgreSQL, real HTTP to the sandbox (real clock); the sensor is evaluated with
Dagster's `build_sensor_context` and its run request executed as the daemon would launch it.
"""

from __future__ import annotations

import socket
from datetime import date
from typing import Any

import sqlalchemy as sa
from dagster import (
    AssetKey,
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    SensorResult,
    build_sensor_context,
)

from tickstock_pipelines.instance import HOST_TAG, PID_TAG
from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.orchestration.launch import RANGE_END, RANGE_START
from tickstock_pipelines.orchestration.new_symbols import new_symbols_sensor
from tickstock_pipelines_tests.support.dagster_runs import dead_pid, started_run
from tickstock_pipelines_tests.support.market_data_runs import load_job_with, run_load
from tickstock_sandbox import SandboxServer

DAY_BARS = ["symbols", "ohlcv_daily", "etf_metadata"]


def _launchpad(job: Any, instance: DagsterInstance, config: dict[str, Any]) -> None:
    """What the Launchpad does: `symbols` alone, materialized with its run config."""
    result = job.execute_in_process(instance=instance, asset_selection=[AssetKey("symbols")],
                                    run_config={"ops": {"symbols": {"config": config}}})
    assert result.success


def _tick(instance: DagsterInstance, resources: dict[str, Any], cursor: str | None = None) -> SensorResult:
    with build_sensor_context(instance=instance, resources={"database": resources["database"]},
                              cursor=cursor) as context:
        result = new_symbols_sensor(context)
    assert isinstance(result, SensorResult)
    return result


def _launch(job: Any, instance: DagsterInstance, result: SensorResult) -> None:
    """The daemon's part: the partitions first, then the one run requested."""
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    [request] = result.run_requests or []
    run = job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection),
                                 tags=request.tags, run_config=request.run_config)
    assert run.success


def _bars(database_uri: str) -> dict[str, tuple[int, date]]:
    with sa.create_engine(database_uri).connect() as conn:
        return {s: (n, first) for s, n, first in conn.execute(sa.text(
            "SELECT symbol, count(*), min(date) FROM ohlcv_daily GROUP BY symbol ORDER BY symbol")).all()}


def _sessions(start: date) -> tuple[int, date]:
    days = sessions_between(start, last_completed_session())
    return len(days), days[0].astype(object)


def test_widening_from_the_launchpad_fetches_the_older_history_in_one_run_once(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    job, end = load_job_with(resources), last_completed_session()
    one_year, two_years, three_years = (history_start(end, years=y) for y in (1, 2, 3))
    assert run_load(instance, resources, {"symbols": ["PLTR", "KO", "SMCI"], "history": "ONE_YEAR"},
                    ["PLTR", "KO", "SMCI"], DAY_BARS).success
    assert _bars(database_uri) == dict.fromkeys(["KO", "PLTR", "SMCI"], _sessions(one_year))
    assert not _tick(instance, resources).run_requests  # the load fetched in its own run: nothing left

    _launchpad(job, instance, {"symbols": ["PLTR", "SMCI"], "history": "TWO_YEARS"})
    first = _tick(instance, resources)
    [request] = first.run_requests or []
    assert not first.dynamic_partitions_requests  # loaded symbols: their partitions exist
    assert set(request.asset_selection) == {AssetKey("ohlcv_daily"), AssetKey("etf_metadata")}
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("PLTR", "SMCI")
    assert request.tags["tickstock/widened"] == "2" and request.tags["tickstock/new_symbols"] == "0"
    # launched, not yet run (queued, or running): the next tick does not launch it again
    assert not _tick(instance, resources, first.cursor).run_requests

    _launch(job, instance, first)
    bars = _bars(database_uri)
    assert bars == {"PLTR": _sessions(two_years), "SMCI": _sessions(two_years), "KO": _sessions(one_year)}
    assert bars["PLTR"][0] > _sessions(one_year)[0]  # the older year is there
    done = _tick(instance, resources, first.cursor)
    assert not done.run_requests
    assert not _tick(instance, resources).run_requests  # even with no memory: the window is covered

    # Wider again, with SMCI delisted meanwhile: only the active symbol is fetched.
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text("UPDATE symbols SET active = false, delisted_date = :d WHERE symbol = 'SMCI'"),
                     {"d": end})
    _launchpad(job, instance, {"symbols": ["PLTR", "SMCI"], "history": "THREE_YEARS"})
    wider = _tick(instance, resources, done.cursor)
    [request] = wider.run_requests or []
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("PLTR", "PLTR")
    _launch(job, instance, wider)
    assert _bars(database_uri)["PLTR"] == _sessions(max(three_years, date(2023, 5, 24)))  # its list date
    assert not _tick(instance, resources, wider.cursor).run_requests


def test_new_and_widened_symbols_are_one_run(instance: DagsterInstance, resources: dict[str, Any],
                                              database_uri: str) -> None:
    job, end = load_job_with(resources), last_completed_session()
    assert run_load(instance, resources, {"symbols": ["KO"], "months": 3}, ["KO"], DAY_BARS).success
    _launchpad(job, instance, {"symbols": ["KO", "PEP"], "history": "SIX_MONTHS"})  # KO widened, PEP new
    result = _tick(instance, resources)
    [partitions] = result.dynamic_partitions_requests or []
    assert list(partitions.partition_keys) == ["PEP"]
    [request] = result.run_requests or []
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("KO", "PEP")
    assert request.tags["tickstock/widened"] == "1" and request.tags["tickstock/new_symbols"] == "1"
    _launch(job, instance, result)
    assert _bars(database_uri) == dict.fromkeys(["KO", "PEP"], _sessions(history_start(end, months=6)))
    assert not _tick(instance, resources, result.cursor).run_requests


def test_a_horizon_beyond_the_plan_is_fetched_as_far_as_the_plan_serves_and_never_relaunched(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str,
        live_sandbox: SandboxServer) -> None:
    job, end = load_job_with(resources), last_completed_session()
    live_sandbox.configure(plan_history_years=2)
    assert run_load(instance, resources, {"symbols": ["KO"], "history": "ONE_YEAR"}, ["KO"], DAY_BARS).success
    _launchpad(job, instance, {"symbols": ["KO"], "history": "FIVE_YEARS"})
    first = _tick(instance, resources)
    assert len(first.run_requests or []) == 1  # the limit is not known yet: the run finds it
    _launch(job, instance, first)
    with sa.create_engine(database_uri).connect() as conn:
        assert conn.execute(sa.text("SELECT years FROM plan_limits WHERE timespan = 'day'")).scalar_one() == 2
    count, oldest = _bars(database_uri)["KO"]
    assert history_start(end, years=5) < oldest and count > _sessions(history_start(end, years=1))[0]

    assert not _tick(instance, resources, first.cursor).run_requests
    assert not _tick(instance, resources).run_requests  # no memory of the launch: the plan says enough
    _launchpad(job, instance, {"symbols": ["KO"], "history": "TEN_YEARS"})  # wider, still beyond the plan
    assert not _tick(instance, resources).run_requests
    assert _bars(database_uri)["KO"] == (count, oldest)


def test_symbols_a_running_run_of_any_job_will_load_are_left_to_it_unless_its_process_is_gone(
        instance: DagsterInstance, resources: dict[str, Any]) -> None:
    job = load_job_with(resources)
    assert run_load(instance, resources, {"symbols": ["KO", "PEP", "AAPL"], "months": 1},
                    ["KO", "PEP", "AAPL"], DAY_BARS).success
    _launchpad(job, instance, {"symbols": ["KO", "AAPL"], "history": "THREE_MONTHS"})  # KO and AAPL widened
    # a UI `backfill_symbols` run over KO is running; a `tickstock load` over KO..AAPL died mid-run
    instance.add_run(DagsterRun(job_name="backfill_symbols", status=DagsterRunStatus.STARTED, run_config={
        "ops": {"backfill_daily_bars": {"config": {"symbols": "KO"}}}}))
    started_run(instance, "load_job", {RANGE_START: "KO", RANGE_END: "AAPL", PID_TAG: str(dead_pid()),
                                       HOST_TAG: socket.gethostname()})
    [request] = _tick(instance, resources).run_requests or []
    assert (request.tags[RANGE_START], request.tags[RANGE_END]) == ("AAPL", "AAPL")
