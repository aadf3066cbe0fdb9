"""`tickstock load` of a widened window fetches the older history in its own run: the new-symbols sensor,
ticking on the same instance the whole time, launches nothing for it, neither while the run is in flight
(the target is recorded, the bars not yet fetched) nor after it (the window is covered).

`tickstock load` is a real subprocess on a generated instance (PostgreSQL storage, as `tickstock ui`'s
daemon would see it); the sandbox answers slowly so the sensor ticks inside the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from dagster import DagsterInstance, DagsterRunStatus, SensorResult, build_sensor_context

from tickstock_pipelines.instance import instance_config
from tickstock_pipelines.loading.wanted import short_targets
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.orchestration.new_symbols import new_symbols_sensor
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines_tests.support.services import create_database
from tickstock_sandbox import SandboxServer


@pytest.fixture
def cli(pg_template_uri: str, database_uri: str, redis_url: str, live_sandbox: SandboxServer,
        tmp_path: Path) -> Iterator[tuple[dict[str, str], DagsterInstance]]:
    """The environment of a `tickstock` process and the instance it records its runs on."""
    home = tmp_path / "dagster"
    home.mkdir()
    storage = create_database(pg_template_uri, f"widen_cli_{os.getpid()}")
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(storage)))
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url, "DAGSTER_HOME": str(home),
           "POLYGON_BASE_URL": live_sandbox.base_url, "POLYGON_API_KEY": ""}
    with DagsterInstance.from_config(str(home)) as instance:
        yield env, instance


def _load(env: dict[str, str], years: str, log: Path) -> subprocess.Popen[bytes]:
    """`tickstock load --symbols PLTR,SMCI --years N`, started; what it says goes to `log`."""
    with log.open("wb") as out:
        command = [sys.executable, "-m", "tickstock_pipelines.cli", "load", "--symbols", "PLTR,SMCI",
                   "--years", years]
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _tick(instance: DagsterInstance, database_uri: str, cursor: str | None) -> SensorResult:
    with build_sensor_context(instance=instance, resources={"database": DatabaseResource(uri=database_uri)},
                              cursor=cursor) as context:
        result = new_symbols_sensor(context)
    assert isinstance(result, SensorResult)
    return result


def _short(database_uri: str) -> set[str]:
    with sa.create_engine(database_uri).connect() as conn:
        return {s.symbol for s in short_targets(conn, last_completed_session())}


def test_a_cli_load_of_a_widened_window_causes_no_sensor_run(
        cli: tuple[dict[str, str], DagsterInstance], database_uri: str, live_sandbox: SandboxServer,
        tmp_path: Path) -> None:
    env, instance = cli
    first = _load(env, "1", tmp_path / "first.log")
    assert first.wait(timeout=300) == 0, (tmp_path / "first.log").read_text()[-3000:]
    cursor = _tick(instance, database_uri, None).cursor

    live_sandbox.configure(latency_ms=1500)  # every call of the widened load takes 1.5 s
    widened, ticks, inside = _load(env, "2", tmp_path / "widened.log"), 0, 0
    try:
        while widened.poll() is None:
            short = _short(database_uri)  # the target recorded, its older bars not fetched yet
            running = [r for r in instance.get_runs() if r.status == DagsterRunStatus.STARTED]
            result = _tick(instance, database_uri, cursor)
            assert not result.run_requests, (short, running)
            cursor, ticks = result.cursor, ticks + 1
            inside += bool(short == {"PLTR", "SMCI"} and running)
            time.sleep(0.1)
    finally:
        if widened.poll() is None:
            widened.kill()
    assert widened.wait(timeout=60) == 0, (tmp_path / "widened.log").read_text()[-3000:]
    assert inside >= 1, f"no tick fell inside the CLI's run ({ticks} ticks)"

    assert not _tick(instance, database_uri, cursor).run_requests  # after it: the window is covered
    assert not _tick(instance, database_uri, None).run_requests
    assert _short(database_uri) == set()
    assert [r.tags.get("tickstock/command") for r in instance.get_runs()] == ["load", "load"]
