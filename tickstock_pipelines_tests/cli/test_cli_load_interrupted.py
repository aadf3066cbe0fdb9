"""Ctrl-C during `tickstock load`: the run ends failed and its outcome reaches admin_notifications once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tickstock_pipelines_tests.support.fault_scenarios import DOW30
from tickstock_pipelines_tests.support.redis_helpers import heard
from tickstock_pipelines_tests.support.reliability_helpers import count, start_tickstock
from tickstock_sandbox import SandboxConfig, SandboxServer


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(latency_ms=500)) as server:
        yield server




def test_ctrl_c_during_a_load_sends_one_failure_message(database_uri: str, redis_url: str, redis_client,
                                                        slow_sandbox: SandboxServer) -> None:
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
           "POLYGON_BASE_URL": slow_sandbox.base_url}
    for name in ("DAGSTER_HOME", "POLYGON_API_KEY"):
        env.pop(name, None)
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)
    process = start_tickstock(env, "load", "--symbols", ",".join(DOW30), "--months", "3")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if count(database_uri, "SELECT count(*) FROM runs WHERE status = 'STARTED'") > 0:
                break
        except sa.exc.DBAPIError:  # Dagster's tables are not there yet
            pass
        time.sleep(0.05)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)

    assert process.returncode == 1, err[-3000:]
    [line] = [x for x in err.splitlines() if x.startswith("tickstock:")]
    run_id = line.rsplit("(run ", 1)[1].rstrip(")")
    assert line == f"tickstock: error: load failed: interrupted (run {run_id})"
    assert count(database_uri, "SELECT status FROM runs") == "FAILURE"
    [message] = [m for m in heard(pubsub) if m["run_id"] == run_id]
    assert message["event"] == "load_failed" and message["error"] == "interrupted"
