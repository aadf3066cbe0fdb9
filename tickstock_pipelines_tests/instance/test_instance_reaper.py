"""A CLI run whose process died is failed and its pool slot freed, so the next load does not wait."""

from __future__ import annotations

import socket

from dagster import DagsterRunStatus, instance_for_test

from tickstock_pipelines.instance import HOST_TAG, PID_TAG, reap_dead_runs
from tickstock_pipelines_tests.support.dagster_runs import dead_pid, started_run


def test_dead_cli_runs_are_failed_and_release_their_slots_live_ones_are_left_alone() -> None:
    with instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("polygon", 1)
        host = socket.gethostname()
        dead = started_run(instance, "load_job", {PID_TAG: str(dead_pid()), HOST_TAG: host})
        alive = started_run(instance, "load_job", {PID_TAG: "1", HOST_TAG: host})
        elsewhere = started_run(instance, "load_job", {PID_TAG: str(dead_pid()), HOST_TAG: "another-host"})
        claim = instance.event_log_storage.claim_concurrency_slot("polygon", dead.run_id, "ohlcv_daily")
        assert claim.is_claimed

        assert reap_dead_runs(instance) == [dead.run_id]
        assert instance.get_run_by_id(dead.run_id).status == DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == DagsterRunStatus.STARTED
        assert instance.get_run_by_id(elsewhere.run_id).status == DagsterRunStatus.STARTED
        info = instance.event_log_storage.get_concurrency_info("polygon")
        assert info.claimed_slots == []
