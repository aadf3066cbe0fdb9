"""Run status sensors: every load and rebuild outcome, failures included, reaches `admin_notifications`.

Runs tagged `tickstock/notified_by=cli` are skipped: `tickstock load` publishes its own run's outcome (and
the reaper that of a load whose process died), daemon or not, so a daemon never sends it a second time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunStatusSensorContext,
    SkipReason,
    run_status_sensor,
)

from tickstock_pipelines.notifications import ADMIN_CHANNEL, NOTIFIED_BY_CLI, NOTIFIED_BY_TAG, publish
from tickstock_pipelines.redaction import redact
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource


def run_summary(context: RunStatusSensorContext, outcome: str) -> dict[str, Any]:
    """What an operator needs from one message: which run, what it did, and why it failed."""
    run = context.dagster_run
    stats = context.instance.get_run_stats(run.run_id)
    summary: dict[str, Any] = {
        "event": f"run_{outcome}",
        "job": run.job_name,
        "run_id": run.run_id,
        "status": run.status.value,
        "timestamp": datetime.now(UTC).isoformat(),
        "tags": {k: v for k, v in run.tags.items() if k.startswith(("dagster/priority", "tickstock/"))},
        "steps_succeeded": stats.steps_succeeded,
        "steps_failed": stats.steps_failed,
        "materializations": stats.materializations,
        "duration_seconds": round(stats.end_time - stats.start_time, 3)
        if stats.end_time and stats.start_time
        else None,
    }
    if outcome == "failed":
        summary["error"] = redact(_first_error(context))[:500]
    return summary


def first_step_error(instance: DagsterInstance, run_id: str) -> str | None:
    """The first step failure's reason (a `Failure`'s description, else `ExceptionClass: text`), redacted:
    more useful than the run's generic "Execution of step … failed." line."""
    for record in instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE):
        data = record.dagster_event.step_failure_data if record.dagster_event else None
        if data is None:
            continue
        if data.user_failure_data is not None and data.user_failure_data.description:
            return redact(data.user_failure_data.description.strip())
        if data.error is not None:
            if data.error.cls_name == "DagsterExecutionInterruptedError":  # Ctrl-C, SIGTERM
                return "interrupted"
            error = data.error
            # Dagster's wrapper ("Error occurred while executing op …:") says where, its cause says why.
            while error.cls_name in _user_code_wrappers() and error.cause is not None:
                error = error.cause
            text = error.message.strip()
            qualified, _, rest = text.partition(": ")
            if rest and qualified.endswith(error.cls_name):  # "pkg.module.Class: text" → "Class: text"
                text = f"{error.cls_name}: {rest}"
            return redact(text)
    return None


def _user_code_wrappers() -> set[str]:
    """Class names of the errors Dagster wraps a step's own exception in (its cause)."""
    from dagster._core.errors import DagsterUserCodeExecutionError

    names, pending = set(), [DagsterUserCodeExecutionError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def _first_error(context: RunStatusSensorContext) -> str:
    return first_step_error(context.instance, context.dagster_run.run_id) or context.dagster_event.message \
        or "run failed"


def _notify(context: RunStatusSensorContext, redis: RedisResource, database: DatabaseResource,
            outcome: str) -> None:
    delivered = publish(redis, database, ADMIN_CHANNEL, run_summary(context, outcome),
                        run_id=context.dagster_run.run_id)
    context.log.info(
        f"{outcome} of {context.dagster_run.job_name} {'sent' if delivered else 'recorded as missed'}: "
        + json.dumps({"run_id": context.dagster_run.run_id})
    )


def _admin_sensor(status: DagsterRunStatus, outcome: str, description: str):
    """One sensor per run status; both publish the same summary shape."""

    @run_status_sensor(
        run_status=status,
        name=f"admin_notify_on_{'success' if outcome == 'succeeded' else 'failure'}",
        description=description,
        default_status=DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=15,
    )
    def _sensor(context: RunStatusSensorContext, redis: RedisResource,
                database: DatabaseResource) -> SkipReason | None:
        if context.dagster_run.tags.get(NOTIFIED_BY_TAG) == NOTIFIED_BY_CLI:
            return SkipReason(f"run {context.dagster_run.run_id}: its outcome is published by the "
                              "`tickstock load` that launched it")
        _notify(context, redis, database, outcome)
        return None

    return _sensor


admin_notify_on_success = _admin_sensor(
    DagsterRunStatus.SUCCESS, "succeeded",
    "Tells admin_notifications when a load, rebuild or refresh succeeds, with a summary.",
)
admin_notify_on_failure = _admin_sensor(
    DagsterRunStatus.FAILURE, "failed",
    "Tells admin_notifications when a run of this code location fails, with the error.",
)
