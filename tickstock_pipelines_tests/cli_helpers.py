"""Running `tickstock` as users do: a subprocess, its exit status, and what it said itself."""

from __future__ import annotations

import subprocess
import sys


def tickstock(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tickstock_pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def said(stderr: str) -> list[str]:
    """What tickstock itself printed on stderr (the run's Dagster log goes there too)."""
    return [line for line in stderr.splitlines() if line.startswith("tickstock:")]
