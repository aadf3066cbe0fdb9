"""Runs stored straight in a test instance, through Dagster's public `DagsterRun` and `add_run`."""

from __future__ import annotations

import subprocess
import sys

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus


def started_run(instance: DagsterInstance, job_name: str, tags: dict[str, str]) -> DagsterRun:
    """A run that an instance believes is in progress, as a CLI run whose process died leaves it."""
    return instance.add_run(DagsterRun(job_name=job_name, status=DagsterRunStatus.STARTED, tags=tags))


def dead_pid() -> int:
    """The id of a process that has exited, as a crashed `tickstock load` leaves in its run's tags."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
