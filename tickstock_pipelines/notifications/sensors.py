"""The daemon's announcements: runs that no launcher announces, and missed messages delivered late.

Runs tagged `tickstock/notified_by` are announced by whoever the tag names (each outcome
reaches admin_notifications once). A `cache_entries` run whose rebuild step never failed (it died before,
or a check or run monitoring failed it) is still announced here: the asset had no chance to say it.
"""

from __future__ import annotations

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from tickstock_pipelines.notifications.channels import (
    ADMIN_CHANNEL,
    NOTIFIED_BY_CACHE,
    NOTIFIED_BY_TAG,
)
from tickstock_pipelines.notifications.delivery import deliver_missed, publish_all
from tickstock_pipelines.notifications.errors import step_failure_reason
from tickstock_pipelines.notifications.messages import run_message
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

CACHE_STEP = "cache_entries"


def _publish(context: RunStatusSensorContext, redis: RedisResource, database: DatabaseResource,
             outcome: str, error: str | None = None) -> None:
    run = context.dagster_run
    message = run_message(outcome=outcome, job=run.job_name, run_id=run.run_id, status=run.status.value,
                          tags=run.tags, stats=context.instance.get_run_stats(run.run_id), error=error)
    delivery = publish_all(redis, database, [(ADMIN_CHANNEL, message)], run_id=run.run_id)
    context.log.info(f"{outcome} of {run.job_name} (run {run.run_id}) "
                     f"{'sent' if delivery.notified else 'recorded as missed'}")


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    name="admin_notify_on_success",
    description="Tells admin_notifications when a run succeeds that no launcher announces, with a summary.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
)
def admin_notify_on_success(context: RunStatusSensorContext, redis: RedisResource,
                            database: DatabaseResource) -> SkipReason | None:
    announcer = context.dagster_run.tags.get(NOTIFIED_BY_TAG)
    if announcer:
        return SkipReason(f"run {context.dagster_run.run_id}: announced by {announcer}")
    _publish(context, redis, database, "succeeded")
    return None


@run_failure_sensor(
    name="admin_notify_on_failure",
    description="Tells admin_notifications when a run fails that no launcher announced, with the error.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
)
def admin_notify_on_failure(context: RunFailureSensorContext, redis: RedisResource,
                            database: DatabaseResource) -> SkipReason | None:
    announcer = context.dagster_run.tags.get(NOTIFIED_BY_TAG)
    steps = context.get_step_failure_events()
    if announcer == NOTIFIED_BY_CACHE and not any(e.step_key == CACHE_STEP for e in steps):
        announcer = None  # the asset never got to say it
    if announcer:
        return SkipReason(f"run {context.dagster_run.run_id}: announced by {announcer}")
    error = step_failure_reason(steps) or context.failure_event.message or "run failed"
    _publish(context, redis, database, "failed", error)
    return None


@sensor(
    name="deliver_missed_notifications",
    description="Sends the messages Redis missed (missed_notifications), oldest first, once it is back.",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def deliver_missed_notifications(context: SensorEvaluationContext, redis: RedisResource,
                                 database: DatabaseResource) -> SkipReason:
    delivered = deliver_missed(redis, database, wait=False)
    return SkipReason(f"delivered {delivered} missed notifications" if delivered
                      else "nothing to deliver (none missed, Redis still down, or another process is on it)")
