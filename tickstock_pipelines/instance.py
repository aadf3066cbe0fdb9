"""The Dagster instance: a generated `dagster.yaml` on the embedded PostgreSQL, and launching runs on it.

With DAGSTER_HOME unset the instance is production in miniature: dagster-postgres run, event-log and
schedule storage in its own database, the QueuedRunCoordinator and pool limits. Every CLI command that
changes data is a run recorded here, so it shows in the UI beside schedules and backfills.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dagster import DagsterInstance

from tickstock_pipelines import embedded
from tickstock_pipelines.settings import Settings, export_resource_environment, load_settings
from tickstock_pipelines.terminal_logger import terminal_run_config

MAX_CONCURRENT_RUNS = 4
# One symbol = one partition, so a load of 500 symbols is 500 materializations. Dagster writes each
# event in its own transaction unless told to batch (about 20 ms each on PostgreSQL); these two settings
# make a 500-symbol run spend about 1 s on bookkeeping instead of 30 s. The price: a failed range run
# marks the run failed, not each of its partitions.
EVENT_SETTINGS = {"DAGSTER_EVENT_BATCH_SIZE": "500",
                  "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}
POLYGON_POOL, POLYGON_POOL_LIMIT = "polygon", 1


def instance_config(storage_uri: str) -> dict[str, Any]:
    """The generated dagster.yaml; `deploy/dagster.yaml` is its production twin."""
    return {
        "storage": {"postgres": {"postgres_url": storage_uri}},
        "run_coordinator": {
            "module": "dagster",
            "class": "QueuedRunCoordinator",
        },
        "concurrency": {
            "runs": {
                "max_concurrent_runs": MAX_CONCURRENT_RUNS,
                # Backfills may not take every slot: scheduled refreshes still get to run.
                "tag_concurrency_limits": [{"key": "dagster/backfill", "limit": 2}],
            },
            "pools": {"default_limit": POLYGON_POOL_LIMIT},
        },
        "run_monitoring": {"enabled": True, "max_resume_run_attempts": 0},
        "telemetry": {"enabled": False},
    }


def ensure_instance_home(settings: Settings | None = None) -> Path:
    """Point DAGSTER_HOME at a working instance, generating it on the embedded server when unset.

    Also exports absolute TICKSTOCK_HOME so run processes, the daemon and the CLI share the same servers.
    """
    settings = settings or load_settings()
    export_resource_environment()
    os.environ["TICKSTOCK_HOME"] = str(settings.tickstock_home)
    for name, value in EVENT_SETTINGS.items():
        os.environ.setdefault(name, value)
    if os.environ.get("DAGSTER_HOME"):
        home = Path(os.environ["DAGSTER_HOME"]).expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(instance_config(embedded.dagster_storage_uri(settings)), sort_keys=False)
    config_file = home / "dagster.yaml"
    if not config_file.exists() or config_file.read_text() != text:
        staged = config_file.with_suffix(f".{os.getpid()}.tmp")
        staged.write_text(text)
        staged.replace(config_file)  # atomic: a concurrent reader sees the old file or the new one
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance() -> DagsterInstance:
    """The instance; two processes starting at once on a fresh storage database must not both create
    Dagster's schema, so the first use is serialised with a lock file in DAGSTER_HOME.

    The `polygon` pool's limit row is created here too, under the same lock. Dagster creates it at a
    pool's first claim; when two runs claim at once on a fresh instance, the loser's fallback UPDATE runs
    inside the PostgreSQL transaction its failed INSERT aborted, and its step fails
    (InFailedSqlTransaction). Seen in CI with two `tickstock load` started together."""
    import fasteners

    home = ensure_instance_home()
    with fasteners.InterProcessLock(str(home / ".tickstock-instance.lock")):
        instance = DagsterInstance.get()
        storage = instance.event_log_storage
        if POLYGON_POOL not in storage.get_concurrency_keys():
            storage.initialize_concurrency_limit_to_default(POLYGON_POOL)
        return instance


PID_TAG, HOST_TAG = "tickstock/pid", "tickstock/host"


def process_gone(tags: Mapping[str, str]) -> bool:
    """A run started by a CLI process on this host whose process no longer exists (the next CLI command
    reaps it): not in flight, whatever its status says."""
    pid = tags.get(PID_TAG, "")
    return tags.get(HOST_TAG) == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_dead_runs(instance: DagsterInstance) -> list[str]:
    """Fail CLI runs whose process died (SIGKILL, power cut) and free their pool slots.

    A run executed in the CLI's own process has no run worker for Dagster's run monitoring to watch, so
    a killed `tickstock load` would stay STARTED and keep the `polygon` slot: the next load would wait
    for ever. Runs launched by the daemon are left to run monitoring.

    A reaped run whose outcome its own process would have published (`tickstock/notified_by`: the sensors
    skip it) gets its failure on admin_notifications here, once: two processes reaping the same run at
    the same time both record a failure event, and only the one whose event came first publishes.
    """
    from dagster import DagsterEvent, DagsterEventType, DagsterRunStatus, RunsFilter

    from tickstock_pipelines.notifications import announced_in_process, notify_run_reaped

    host, reaped = socket.gethostname(), []
    for run in instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
                                            tags={HOST_TAG: host})):
        pid = run.tags.get(PID_TAG, "")
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            reason = f"the process running it (pid {pid}) is gone; marked failed"
            # report_run_failed, with this process's pid on the event so the first reaper is known
            instance.report_dagster_event(
                DagsterEvent(DagsterEventType.RUN_FAILURE.value, job_name=run.job_name, message=reason,
                             pid=os.getpid()),
                run_id=run.run_id, log_level=logging.ERROR)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            reaped.append(run.run_id)
            if announced_in_process(run.tags):
                first = next(iter(instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)), None)
                if first is not None and first.dagster_event and first.dagster_event.pid == os.getpid():
                    notify_run_reaped(run.run_id, run.job_name, run.tags, reason)
    return reaped


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    asset_metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None
    run_tags: dict[str, str] = field(default_factory=dict)  # with the totals steps recorded on the run


def run_job(
    job_name: str,
    *,
    run_config: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    asset_selection: list[str] | None = None,
    instance: DagsterInstance | None = None,
) -> RunOutcome:
    """Execute `job_name` as a run recorded on the instance and wait for its result."""
    from dagster import AssetKey

    from tickstock_pipelines.definitions import defs

    instance = instance or get_instance()
    reap_dead_runs(instance)
    job = defs.resolve_job_def(job_name)
    tags = {**(tags or {}), PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    # The terminal shows what steps say (progress, warnings), a line each; Dagster's DEBUG events and
    # a failure's stack trace stay in the event log.
    run_config = {**terminal_run_config("INFO"), **(run_config or {})}
    result = job.execute_in_process(
        run_config=run_config,
        instance=instance,
        partition_key=partition_key,
        tags=tags,
        asset_selection=[AssetKey(k) for k in asset_selection] if asset_selection else None,
        raise_on_error=False,
    )
    metadata: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
        }
    error = None
    if not result.success:
        failures = [e for e in result.all_events if e.is_failure]
        error = failures[0].message if failures else "run failed"
    run = instance.get_run_by_id(result.run_id)
    return RunOutcome(result.success, result.run_id, metadata, error, dict(run.tags) if run else {})
