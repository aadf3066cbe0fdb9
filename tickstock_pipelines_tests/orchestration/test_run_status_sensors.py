"""Run status sensors publish load and rebuild outcomes to admin_notifications (real Redis, real runs)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from dagster import (
    DagsterEventType,
    DagsterInstance,
    Failure,
    asset,
    build_run_status_sensor_context,
    materialize,
)

from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.notifications.sensors import admin_notify_on_failure, admin_notify_on_success
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.redis_helpers import heard

CANARY = "CANARY-KEY-run-status-7d1e"


@asset
def healthy() -> int:
    return 1


@asset
def broken() -> int:
    raise Failure(f"Polygon said no (Authorization: Bearer {CANARY})")


def _context(instance: DagsterInstance, result, status_event: DagsterEventType):
    run = instance.get_run_by_id(result.run_id)
    event = next(e for e in result.all_events if e.event_type == status_event)
    context = build_run_status_sensor_context(
        sensor_name="test", dagster_instance=instance, dagster_run=run, dagster_event=event
    )
    return context.for_run_failure() if status_event == DagsterEventType.RUN_FAILURE else context


def _drain(pubsub, quiet: float = 1.5) -> list[dict]:
    """Every message until none came for `quiet` seconds: a second copy of one is caught too."""
    return heard(pubsub, quiet=quiet)


def test_success_and_failure_reach_admin_notifications(
    database_uri: str, redis_url: str, redis_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    resources = {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url)}
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)
    with DagsterInstance.ephemeral() as instance:
        ok = materialize([healthy], instance=instance)
        admin_notify_on_success(_context(instance, ok, DagsterEventType.RUN_SUCCESS), **resources)
        [success] = _drain(pubsub)
        assert success["event"] == "run_succeeded" and success["run_id"] == ok.run_id
        assert success["steps_succeeded"] == 1 and success["materializations"] == 1

        bad = materialize([broken], instance=instance, raise_on_error=False)
        admin_notify_on_failure(_context(instance, bad, DagsterEventType.RUN_FAILURE), **resources)
        [failure] = _drain(pubsub)
        assert failure["event"] == "run_failed" and failure["run_id"] == bad.run_id
        assert failure["steps_failed"] == 1
        assert "Polygon said no" in failure["error"]
        assert CANARY not in json.dumps(failure)


def test_redis_down_records_the_missed_notification(database_uri: str, tmp_path) -> None:
    resources = {
        "database": DatabaseResource(uri=database_uri),
        "redis": RedisResource(url=f"unix://{tmp_path}/nobody-listens.sock", socket_timeout_seconds=0.5),
    }
    with DagsterInstance.ephemeral() as instance:
        ok = materialize([healthy], instance=instance)
        admin_notify_on_success(_context(instance, ok, DagsterEventType.RUN_SUCCESS), **resources)
    with get_engine(database_uri).connect() as conn:
        rows = conn.execute(sa.text("SELECT channel, payload, run_id FROM missed_notifications")).all()
    assert [(r.channel, r.run_id) for r in rows] == [("admin_notifications", ok.run_id)]
    assert rows[0].payload["event"] == "run_succeeded"


def test_runs_whose_outcome_the_cli_publishes_are_skipped(database_uri: str, redis_url: str,
                                                          redis_client) -> None:
    """`tickstock load` tags its run notified_by=cli and publishes the outcome itself: a daemon's sensors
    must not send a second message for it, success or failure (nor record one as missed)."""
    from dagster import SkipReason

    from tickstock_pipelines.notifications import NOTIFIED_BY_CLI, NOTIFIED_BY_TAG

    resources = {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url)}
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)
    tags = {NOTIFIED_BY_TAG: NOTIFIED_BY_CLI, "tickstock/command": "load"}
    with DagsterInstance.ephemeral() as instance:
        ok = materialize([healthy], instance=instance, tags=tags)
        bad = materialize([broken], instance=instance, tags=tags, raise_on_error=False)
        skipped = [
            admin_notify_on_success(_context(instance, ok, DagsterEventType.RUN_SUCCESS), **resources),
            admin_notify_on_failure(_context(instance, bad, DagsterEventType.RUN_FAILURE), **resources),
        ]
        assert all(isinstance(s, SkipReason) for s in skipped), skipped
        assert _drain(pubsub) == []
        # The same runs without the tag are still announced (daemon-launched loads, rebuilds, refreshes).
        plain = materialize([healthy], instance=instance, tags={"tickstock/command": "load"})
        admin_notify_on_success(_context(instance, plain, DagsterEventType.RUN_SUCCESS), **resources)
        [message] = _drain(pubsub)
        assert message["run_id"] == plain.run_id
    with get_engine(database_uri).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM missed_notifications")).scalar_one() == 0


def test_first_step_error_is_the_failure_description_not_dagsters_generic_line() -> None:
    from tickstock_pipelines.notifications import first_step_error

    with DagsterInstance.ephemeral() as instance:
        bad = materialize([broken], instance=instance, raise_on_error=False)
        assert first_step_error(instance, bad.run_id) == "Polygon said no (Authorization: Bearer ***)"
        ok = materialize([healthy], instance=instance)
        assert first_step_error(instance, ok.run_id) is None


@asset(name="cache_entries")
def failing_cache_entries() -> None:
    raise RuntimeError("the rebuild's own failure")


def test_a_rebuild_run_is_announced_by_its_asset_unless_it_failed_before_the_rebuild_step(
        database_uri: str, redis_url: str, redis_client) -> None:
    """cache_rebuild_job and the automation tag their runs notified_by=cache_entries: the asset announces
    them (cache_rebuild_completed / _failed), so the sensors stay quiet, except for a failure the asset
    never saw (its step did not fail: the run failed elsewhere or before it)."""
    from dagster import SkipReason

    from tickstock_pipelines.notifications import NOTIFIED_BY_CACHE, NOTIFIED_BY_TAG

    resources = {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url)}
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)
    tags = {NOTIFIED_BY_TAG: NOTIFIED_BY_CACHE}
    with DagsterInstance.ephemeral() as instance:
        ok = materialize([healthy], instance=instance, tags=tags)
        own = materialize([failing_cache_entries], instance=instance, tags=tags, raise_on_error=False)
        elsewhere = materialize([broken], instance=instance, tags=tags, raise_on_error=False)
        skipped = [
            admin_notify_on_success(_context(instance, ok, DagsterEventType.RUN_SUCCESS), **resources),
            admin_notify_on_failure(_context(instance, own, DagsterEventType.RUN_FAILURE), **resources),
        ]
        assert all(isinstance(s, SkipReason) for s in skipped), skipped
        assert _drain(pubsub) == []
        admin_notify_on_failure(_context(instance, elsewhere, DagsterEventType.RUN_FAILURE), **resources)
        [message] = _drain(pubsub)
    assert message["event"] == "run_failed" and message["run_id"] == elsewhere.run_id
    assert "Polygon said no" in message["error"]
