"""`tickstock ui` as operators run it: the webserver and the daemon on one instance. A load through the
CLI makes the automation rebuild the cache once, by itself (the real daemon, not a simulation)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_tickstock_ui

CACHE_AUTOMATION_TAG = "dagster/sensor_name"


@pytest.fixture
def ui(pg_template_uri: str, database_uri: str, redis_url: str,
       tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    dagster_home = tmp_path / "dagster"
    dagster_home.mkdir()
    storage = create_database(pg_template_uri, f"daemon_{os.getpid()}")
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
           "DAGSTER_HOME": str(dagster_home)}
    with running_tickstock_ui(dagster_home, storage, env) as url:
        yield url, env, dagster_home


def _cache_runs(instance: DagsterInstance) -> list:
    return [r for r in instance.get_runs() if r.tags.get(CACHE_AUTOMATION_TAG) == "cache_after_market_data"]


@pytest.mark.slow
def test_tickstock_ui_serves_the_location_and_its_daemon_rebuilds_the_cache_once_after_a_load(
        ui: tuple[str, dict[str, str], Path]) -> None:
    url, env, dagster_home = ui
    data = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                        "schedules { name } assetNodes { assetKey { path } } } } } }")
    [repo] = data["repositoriesOrError"]["nodes"]
    assert {s["name"] for s in repo["schedules"]} == {"weekly_refresh", "weekly_minute_refresh",
                                                       "monthly_full_rebuild", "quarterly_theme_review"}
    assert len(repo["assetNodes"]) == 14  # 4 market data + 9 families + theme_review

    load = subprocess.run([sys.executable, "-m", "tickstock_pipelines.cli", "load", "--symbols", "KO,PEP",
                           "--months", "1"], env=env, capture_output=True, text=True, timeout=300)
    assert load.returncode == 0, load.stderr[-3000:]

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        instance = DagsterInstance.get()
        deadline = time.monotonic() + 240
        while not [r for r in _cache_runs(instance) if r.status == DagsterRunStatus.SUCCESS]:
            assert time.monotonic() < deadline, "the automation did not rebuild the cache within 240 s"
            time.sleep(3)
        time.sleep(45)  # more than one automation tick later: still exactly one rebuild
        runs = _cache_runs(instance)
        assert len(runs) == 1 and len(runs[0].asset_selection or ()) == 9  # every family
    finally:
        os.environ.pop("DAGSTER_HOME", None)



def _repository(url: str) -> dict[str, str]:
    [repo] = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                          "location { name } } } } }")["repositoriesOrError"]["nodes"]
    return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}


def _failure_sensor_ticks(url: str) -> list[float]:
    """Timestamps of the daemon's admin_notify_on_failure ticks, newest first."""
    query = ("query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
             "sensorState { ticks(limit: 5) { timestamp } } } } }")
    selector = {**_repository(url), "sensorName": "admin_notify_on_failure"}
    data = graphql(url, query, {"s": selector})["sensorOrError"]
    return [t["timestamp"] for t in data["sensorState"]["ticks"]]


def _launch_rebuild(url: str) -> str:
    """cache_rebuild_job launched as from the UI: queued, then run by the daemon in its own process."""
    query = ("mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
             "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }")
    params = {"selector": {**_repository(url), "jobName": "cache_rebuild_job"}, "runConfigData": {}}
    launched = graphql(url, query, {"p": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


@pytest.mark.slow
def test_failed_rebuilds_with_the_daemon_running_are_announced_once(
        ui: tuple[str, dict[str, str], Path], database_uri: str, redis_client) -> None:
    """A rebuild that fails inside its step, from the CLI and from the UI (a daemon-launched run the
    run-status sensors do watch): the asset announces cache_rebuild_failed, and the daemon's failure
    sensor adds no run_failed for it (its run is tagged notified_by=cache_entries)."""
    import sqlalchemy as sa

    from tickstock_pipelines_tests.support.redis_helpers import heard

    url, env, dagster_home = ui
    deadline = time.monotonic() + 180
    while not _failure_sensor_ticks(url):  # the sensor is live: it will see the runs fail
        assert time.monotonic() < deadline, "the failure sensor never ticked"
        time.sleep(2)
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text("DROP TABLE symbols CASCADE"))  # the rebuild fails inside its step
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("admin_notifications")
    while pubsub.get_message(timeout=1) is not None:
        pass
    rebuild = subprocess.run([sys.executable, "-m", "tickstock_pipelines.cli", "cache", "rebuild"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert rebuild.returncode == 1, rebuild.stderr[-3000:]
    cli_run = rebuild.stderr.rsplit("(run ", 1)[1].split(")")[0]
    ui_run = _launch_rebuild(url)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        instance = DagsterInstance.get()
        while instance.get_run_by_id(ui_run).status != DagsterRunStatus.FAILURE:
            assert time.monotonic() < deadline + 240, instance.get_run_by_id(ui_run).status
            time.sleep(2)
        ended = time.time()
    finally:
        os.environ.pop("DAGSTER_HOME", None)
    while not [t for t in _failure_sensor_ticks(url) if t > ended + 1]:  # a tick that saw both failures
        assert time.monotonic() < deadline + 480, "no failure-sensor tick after the rebuilds failed"
        time.sleep(3)
    messages = heard(pubsub, quiet=5)
    pubsub.close()
    for run_id in (cli_run, ui_run):
        events = [m["event"] for m in messages if m.get("run_id") == run_id]
        assert events == ["cache_rebuild_failed"], messages
