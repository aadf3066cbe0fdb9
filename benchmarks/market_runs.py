"""The processes bench_market.py measures: the sandbox, `tickstock load`, and the per-ticker baseline.

Each runs in its own process, so the peak RSS of a load is the loading process's alone (not the sandbox's,
not the benchmark's). Peak RSS is the kernel's high-water mark of that process (VmHWM), read from
/proc/PID/status until it exits; it only grows, so the last reading is the peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import requests

BENCH = Path(__file__).resolve().parent / "bench_market.py"
ROOT = BENCH.parent.parent
MB = 1024 * 1024


def _vm_hwm(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")), None)
    except OSError:
        return None


@dataclass
class Measured:
    """One process: exit code, wall time, peak RSS, the end of its output."""

    returncode: int
    wall_s: float
    peak_rss_mb: float | None
    stdout: str
    stderr: str
    extra: dict[str, Any] = field(default_factory=dict)


def measure(command: list[str], env: dict[str, str], cwd: Path, timeout: float = 1800) -> Measured:
    """Run `command`, sampling its VmHWM every 0.1 s; output goes to files (no pipe to fill up)."""
    out_path, err_path = cwd / f"out.{time.monotonic_ns()}", cwd / f"err.{time.monotonic_ns()}"
    started = time.perf_counter()
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        peak = 0
        while process.poll() is None:
            peak = max(peak, _vm_hwm(process.pid) or 0)
            if time.perf_counter() - started > timeout:
                process.kill()
            time.sleep(0.1)
    wall = time.perf_counter() - started
    return Measured(process.returncode, round(wall, 2), round(peak / MB, 1) if peak else None,
                    out_path.read_text(), err_path.read_text())


class Sandbox:
    """A SandboxServer with the benchmark's config in a child process (`--sandbox-child`)."""

    def __init__(self, config: dict[str, Any], home: Path) -> None:
        self.log = (home / "sandbox.log").open("w")
        command = [sys.executable, str(BENCH), "--sandbox-child", json.dumps(config)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self.log, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start; see {home / 'sandbox.log'}")

    def by_endpoint(self) -> Counter[str]:
        stats = requests.get(f"{self.url}/_sandbox/stats", timeout=30).json()
        return Counter(stats["by_endpoint"])

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # the child stops when its stdin closes
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def sandbox_child(config: dict[str, Any]) -> None:
    """Serve until stdin closes; print the URL first."""
    from tickstock_sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig(**config)) as server:
        print(server.base_url, flush=True)
        sys.stdin.read()


def load_env(home: Path, uri: str, sandbox_url: str, budget: int) -> dict[str, str]:
    """What `tickstock load` runs with: the throwaway home, its database, the sandbox, a paid budget."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POLYGON_", "REDIS_URL", "DATABASE_URI",
                                                                    "DAGSTER_HOME", "TICKSTOCK_"))}
    return {**env, "TICKSTOCK_HOME": str(home), "DATABASE_URI": uri, "POLYGON_BASE_URL": sandbox_url,
            "POLYGON_REQUESTS_PER_MINUTE": str(budget), "PYTHONPATH": str(ROOT)}


def tickstock(args: list[str], env: dict[str, str], home: Path, sandbox: Sandbox) -> Measured:
    """One `tickstock …` process: its calls by endpoint are what the sandbox received meanwhile."""
    before = sandbox.by_endpoint()
    run = measure([str(Path(sys.executable).parent / "tickstock"), *args], env, home)
    calls = sandbox.by_endpoint() - before
    run.extra = {"calls": sum(calls.values()), "by_endpoint": dict(sorted(calls.items()))}
    if run.returncode:
        raise RuntimeError(f"tickstock {args[0]} exited {run.returncode}:\n{run.stderr[-3000:]}")
    return run


def baseline_child(spec: dict[str, Any]) -> dict[str, Any]:
    """The per-ticker baseline on a sample: the same loader with grouped daily off (DailyBarsConfig's
    allow_grouped_daily=False): details for the stocks (ETFs come from the list), then one aggregates
    call per symbol, 4 in flight, the same budget and writes."""
    import redis

    from tickstock_pipelines import embedded
    from tickstock_pipelines.db.engine import get_engine
    from tickstock_pipelines.loading.coverage import Gap
    from tickstock_pipelines.loading.daily import load_daily
    from tickstock_pipelines.loading.planner import plan_daily
    from tickstock_pipelines.loading.sectors import load_sector_map
    from tickstock_pipelines.loading.symbols_sync import fetch_details, upsert_symbols
    from tickstock_pipelines.resources.polygon import PolygonClient, SharedRateLimiter
    from tickstock_sandbox import SANDBOX_API_KEY

    engine = get_engine(spec["uri"])
    limiter = SharedRateLimiter(redis.Redis.from_url(embedded.embedded_redis_url(Path(spec["home"]))),
                                spec["budget"], key=f"tickstock:polygon:bench-baseline:{os.getpid()}")
    first, last = date.fromisoformat(spec["first"]), date.fromisoformat(spec["last"])
    started = time.perf_counter()
    with PolygonClient(api_key=SANDBOX_API_KEY, base_url=spec["url"], limiter=limiter, sandbox=True,
                       timeout_seconds=30, max_retries=3, backoff_seconds=0.05, concurrency=4) as client:
        rows, sync = fetch_details(client, spec["stocks"], load_sector_map(None))
        with engine.begin() as conn:
            upsert_symbols(conn, rows)
        gaps = [Gap(s, first, last) for s in [*spec["stocks"], *spec["etfs"]]]
        outcome = load_daily(engine, client, plan_daily(gaps, allow_grouped=False), lambda _: None)
        calls = dict(sorted(client.calls.items()))
    return {"wall_s": round(time.perf_counter() - started, 2), "calls": sum(calls.values()),
            "by_endpoint": calls, "rows": outcome.counts.inserted, "details": len(sync.fetched),
            "owed": len(outcome.owed)}
