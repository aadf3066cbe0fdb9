"""Why a run failed, in one line an operator can act on, from its step-failure events (public API)."""

from __future__ import annotations

from collections.abc import Iterable

from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterUserCodeExecutionError

from tickstock_pipelines.redaction import redact


def _wrappers() -> set[str]:
    """Class names of the errors Dagster wraps a step's own exception in (their cause is ours)."""
    names, pending = set(), [DagsterUserCodeExecutionError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names


def step_failure_reason(events: Iterable[DagsterEvent]) -> str | None:
    """The first step failure's reason (a `Failure`'s description, else `ExceptionClass: text`), redacted:
    more useful than the run's generic "Execution of step … failed." line."""
    for event in events:
        data = event.step_failure_data if event.is_step_failure else None
        if data is None:
            continue
        if data.user_failure_data is not None and data.user_failure_data.description:
            return redact(data.user_failure_data.description.strip())
        if data.error is not None:
            if data.error.cls_name == "DagsterExecutionInterruptedError":  # Ctrl-C, SIGTERM
                return "interrupted"
            error, wrappers = data.error, _wrappers()
            while error.cls_name in wrappers and error.cause is not None:  # where → why
                error = error.cause
            text = error.message.strip()
            qualified, _, rest = text.partition(": ")
            if rest and qualified.endswith(error.cls_name):  # "pkg.module.Class: text" → "Class: text"
                text = f"{error.cls_name}: {rest}"
            return redact(text)
    return None


def first_step_error(instance: DagsterInstance, run_id: str) -> str | None:
    """`step_failure_reason` for a run read back from the instance (the CLI, after its run)."""
    records = instance.all_logs(run_id, of_type=DagsterEventType.STEP_FAILURE)
    return step_failure_reason(r.dagster_event for r in records if r.dagster_event is not None)
