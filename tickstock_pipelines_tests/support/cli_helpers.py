"""Running `tickstock` as users do: a subprocess, its exit status, and what it said itself."""

from __future__ import annotations

import re
import subprocess
import sys


def tickstock(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickstock_pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def said(stderr: str) -> list[str]:
    """What tickstock itself printed on stderr (the run's Dagster log goes there too)."""
    return [line for line in stderr.splitlines() if line.startswith("tickstock:")]


_RUN_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} - "
                           r"(tickstock_terminal|tickstock_pipelines[\w.]*) - (INFO|WARNING) - ")


def stray_lines(stderr: str) -> list[str]:
    """Lines on stderr that are neither tickstock's own nor one-line run progress: a stack trace, a
    multi-line message or a Dagster event would show up here."""
    return [line for line in stderr.splitlines()
            if line.strip() and not line.startswith("tickstock:") and not _RUN_LOG_LINE.match(line)]
