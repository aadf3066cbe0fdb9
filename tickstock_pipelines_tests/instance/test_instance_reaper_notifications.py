"""A `tickstock load` killed mid-run cannot publish its own outcome: the reaper that fails its run does,
once, on admin_notifications (the run-status sensors skip runs tagged notified_by=cli). Real Redis,
real PostgreSQL, a real Dagster instance."""

from __future__ import annotations

import os
import socket

import pytest
import sqlalchemy as sa
from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, instance_for_test

from tickstock_pipelines.instance import HOST_TAG, PID_TAG, reap_dead_runs
from tickstock_pipelines.notifications import NOTIFIED_BY_CLI, NOTIFIED_BY_TAG
from tickstock_pipelines_tests.support.dagster_runs import dead_pid, started_run
from tickstock_pipelines_tests.support.redis_helpers import heard


@pytest.fixture
def admin(redis_client, database_uri: str, redis_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URI", database_uri)
    monkeypatch.setenv("REDIS_URL", redis_url)
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)
    yield pubsub
    pubsub.close()


def _cli_run(instance, pid: int, **extra: str):
    return started_run(instance, "load_job", {PID_TAG: str(pid), HOST_TAG: socket.gethostname(),
                                              "tickstock/command": "load", **extra})


def test_a_dead_cli_load_gets_one_failure_message_and_untagged_runs_none(admin, database_uri: str) -> None:
    with instance_for_test() as instance:
        dead = _cli_run(instance, dead_pid(), **{NOTIFIED_BY_TAG: NOTIFIED_BY_CLI})
        untagged = _cli_run(instance, dead_pid())  # e.g. a rebuild: the sensors announce those

        assert sorted(reap_dead_runs(instance)) == sorted([dead.run_id, untagged.run_id])
        assert reap_dead_runs(instance) == []  # already failed: not reaped, not announced again
        [message] = heard(admin, quiet=1.0)
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
    assert message["event"] == "load_failed" and message["status"] == "failure"
    assert message["run_id"] == dead.run_id and message["job"] == "load_job"
    assert "is gone; marked failed" in message["error"]
    assert message["summary"] == f"load failed: {message['error']}"
    assert message["tags"][NOTIFIED_BY_TAG] == NOTIFIED_BY_CLI
    with sa.create_engine(database_uri).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM missed_notifications")).scalar_one() == 0


def test_when_another_process_reaped_the_run_first_it_is_not_announced_twice(admin) -> None:
    """Two CLIs reaping at the same moment both see the run STARTED and both fail it; the one whose
    failure event came second stays quiet."""
    with instance_for_test() as instance:
        run = _cli_run(instance, dead_pid(), **{NOTIFIED_BY_TAG: NOTIFIED_BY_CLI})
        # The other reaper's failure event lands first (its pid on it) ...
        instance.report_dagster_event(
            DagsterEvent(DagsterEventType.RUN_FAILURE.value, job_name=run.job_name, message="other reaper",
                         pid=os.getpid() + 1), run_id=run.run_id)
        # ... while this one still read the run as STARTED.
        instance.report_dagster_event(DagsterEvent(DagsterEventType.RUN_START.value, job_name=run.job_name),
                                      run_id=run.run_id)
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED

        assert reap_dead_runs(instance) == [run.run_id]
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
        assert heard(admin, quiet=1.0) == []


def test_redis_down_the_dead_loads_failure_is_recorded_as_missed(database_uri: str, tmp_path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URI", database_uri)
    monkeypatch.setenv("REDIS_URL", f"unix://{tmp_path}/nobody-listens.sock")
    with instance_for_test() as instance:
        dead = _cli_run(instance, dead_pid(), **{NOTIFIED_BY_TAG: NOTIFIED_BY_CLI})
        assert reap_dead_runs(instance) == [dead.run_id]
    with sa.create_engine(database_uri).connect() as conn:
        rows = conn.execute(sa.text("SELECT channel, run_id, payload FROM missed_notifications")).all()
    assert [(r.channel, r.run_id, r.payload["event"]) for r in rows] == [
        ("admin_notifications", dead.run_id, "load_failed")]
