"""A canary POLYGON_API_KEY, used for real (the sandbox receives it as the bearer key, and hands it back
inside its next_urls as the real API may), never appears in stdout, stderr, any file under TICKSTOCK_HOME or
DAGSTER_HOME (logs, compute logs, dagster.yaml), the Dagster event log and run records, any row of any
table, the PostgreSQL server's log (every statement sent to the test's database is logged), the Redis
server's directory and keyspace, or any message published on Redis, even when requests fail and runs fail."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa

from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.reliability_helpers import all_text
from tickstock_sandbox import SandboxConfig, SandboxServer

pytestmark = pytest.mark.slow
CANARY = "cAnArY-9f3b1e7d-POLYGON-KEY-5a2c"
# about 57,000 minute bars: more than one aggregates page (50,000), so a next_url is followed
MINUTE_MONTHS = 7


class Recorder:
    """What the sandbox received (path and Authorization header of every API request) and how many of its
    next_urls it handed out with the key in them."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self.next_urls_with_key = 0


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxServer, Recorder]]:
    """The sandbox, recording every API request; every next_url it answers carries `apiKey=<canary>`, as a
    real Polygon next_url may: the client must drop it, and nothing may repeat it."""
    server = SandboxServer(SandboxConfig())
    recorder = Recorder()
    handler = server._httpd.RequestHandlerClass

    class Recording(handler):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            if not self.path.startswith("/_sandbox/"):
                recorder.requests.append((self.path, self.headers.get("Authorization", "")))
            super().do_GET()

    server._httpd.RequestHandlerClass = Recording
    answer = server.api.handle

    def handle_with_key_in_next_url(*args: Any) -> tuple[int, Any]:
        status, payload = answer(*args)
        if isinstance(payload, dict) and payload.get("next_url"):
            payload["next_url"] += f"&apiKey={CANARY}"
            recorder.next_urls_with_key += 1
        return status, payload

    server.api.handle = handle_with_key_in_next_url  # type: ignore[method-assign]
    with server:
        yield server, recorder


@pytest.fixture
def published(redis_url: str) -> Iterator[list[tuple[bytes, bytes]]]:
    """Every message published on the session's Redis while the test runs: (channel, payload)."""
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    heard: list[tuple[bytes, bytes]] = []
    pubsub.psubscribe(**{"*": lambda message: heard.append((message["channel"], message["data"]))})
    worker = pubsub.run_in_thread(sleep_time=0.05, daemon=True)
    try:
        yield heard
    finally:
        worker.stop()
        worker.join(timeout=5)
        pubsub.close()
        client.close()


@pytest.fixture
def statements_logged(database_uri: str) -> Iterator[None]:
    """The embedded PostgreSQL logs every statement sent to this test's database (and only to it), so the
    server log holds every value the runs wrote or looked up, as text."""
    name = sa.engine.make_url(database_uri).database
    engine = sa.create_engine(database_uri, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" SET log_statement = \'all\''))
    finally:
        engine.dispose()
    yield


def _server_logs(test_home: Path) -> list[Path]:
    """The session's PostgreSQL server log(s) in its data directory (`pg_ctl -l <pgdata>/log`, and a
    collector's log directory if one is configured)."""
    pgdata = test_home / "postgres"
    logs = [p for p in (pgdata / "log", pgdata / "logfile") if p.is_file()]
    for folder in (pgdata / "log", pgdata / "pg_log"):
        if folder.is_dir():
            logs += [p for p in folder.rglob("*") if p.is_file()]
    return logs


def _redis_keyspace(client: redis.Redis) -> list[bytes]:
    """Every key of the session's Redis and its value, whatever its type."""
    out: list[bytes] = []
    for key in client.scan_iter(count=1000):
        out.append(key)
        kind = client.type(key)
        if kind == b"string":
            out.append(client.get(key) or b"")
        elif kind == b"hash":
            out += [b for pair in client.hgetall(key).items() for b in pair]
        elif kind == b"list":
            out += client.lrange(key, 0, -1)
        elif kind == b"set":
            out += list(client.smembers(key))
        elif kind == b"zset":
            out += client.zrange(key, 0, -1)
        elif kind == b"stream":
            out += [repr(entry).encode() for entry in client.xrange(key)]
    return out


def test_a_canary_key_never_leaks_anywhere(sandbox: tuple[SandboxServer, Recorder], database_uri: str,
                                           redis_url: str, test_home: Path, statements_logged: None,
                                           published: list[tuple[bytes, bytes]], tmp_path: Path) -> None:
    server, recorder = sandbox
    home = tmp_path / "home"
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url, "TICKSTOCK_HOME": str(home),
           "POLYGON_BASE_URL": server.base_url, "POLYGON_API_KEY": CANARY,
           "POLYGON_REQUESTS_PER_MINUTE": "100000"}
    env.pop("DAGSTER_HOME", None)
    pg_logs = _server_logs(test_home)
    assert pg_logs, f"no PostgreSQL server log under {test_home / 'postgres'}"
    pg_log_sizes = {p: p.stat().st_size for p in pg_logs}
    # Failures on the way, each of which ends up in a log line, a warning, a run failure or metadata.
    server.inject("500", path="/v3/reference/tickers/MSFT")  # details fail for good: a failed ticker
    server.inject("429", count=3, retry_after=0.1)
    server.inject("503", path="/v2/aggs", count=2)
    # KO's bars come back truncated every time (a body that does not parse is retried, 5 times): KO fails
    server.inject("truncated", path="/v2/aggs/ticker/KO", count=6)
    # PEP's second page (the next_url) fails twice: retried, with a warning naming the page's URL
    server.inject("500", path="/v2/aggs/ticker/PEP", pages_only=True, count=2)
    results = [
        tickstock(env, "load", "--symbols", "AAPL,MSFT,KO,SPY,NOSUCH1", "--months", "2"),
        tickstock(env, "load", "--symbols", "AAPL,MSFT,KO,SPY", "--months", "2"),
        tickstock(env, "load", "--symbols", "NOSUCH1,NOSUCH2"),
        tickstock(env, "load", "--symbols", "PEP", "--months", str(MINUTE_MONTHS), "--timespan", "minute"),
        tickstock(env, "cache", "rebuild", "--verbose"),
        tickstock(env, "cache", "report", "--json"),
        tickstock({**env, "REDIS_URL": f"unix://{tmp_path}/none.sock"}, "cache", "rebuild"),
        tickstock({**env, "DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"},
                  "load", "--symbols", "AAPL"),
    ]
    codes = [r.returncode for r in results]
    # the second load: MSFT's details fail for good, so it is not a success (exit 1) though the rest loads
    assert codes == [1, 1, 1, 0, 0, 0, 0, 2], [(r.returncode, r.stderr[-1500:]) for r in results]
    assert "SANDBOX DATA" not in results[1].stdout  # the key was used: not sandbox mode
    stats = server.stats()
    assert stats["faults_injected"] and stats["key_in_url_requests"] == 0
    assert recorder.requests and {auth for _, auth in recorder.requests} == {f"Bearer {CANARY}"}
    assert not [path for path, _ in recorder.requests if CANARY in path or "apikey" in path.lower()]
    # The paginated load followed a next_url that carried the key (the client dropped it), through a retry.
    pages = [path for path, _ in recorder.requests
             if path.startswith("/v2/aggs/ticker/PEP/") and "cursor=" in path]
    assert recorder.next_urls_with_key >= 1 and len(pages) >= 3, (recorder.next_urls_with_key, pages)
    assert any(r["ticker"] == "PEP" and r["fault"] == "500" for r in stats["requests"])
    engine = sa.create_engine(database_uri)
    try:
        with engine.connect() as conn:
            pep_minutes = conn.execute(
                sa.text("SELECT count(*) FROM ohlcv_minute WHERE symbol = 'PEP'")).scalar_one()
            run_ids = conn.execute(sa.text("SELECT run_id FROM runs")).scalars().all()
    finally:
        engine.dispose()
    assert pep_minutes > 50_000, pep_minutes  # both pages were stored

    for result in results:
        assert CANARY not in result.stdout and CANARY not in result.stderr

    # Every file under TICKSTOCK_HOME and DAGSTER_HOME, the runs' compute logs among them (one per run, each
    # with what the run's steps printed: their scan is not vacuous).
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "dagster.yaml" for p in files)
    assert len(run_ids) == 6, run_ids  # four loads and two rebuilds (the report and the refused load: none)
    printed = ""
    for run_id in run_ids:
        compute_logs = list((home / "dagster" / "storage" / run_id / "compute_logs").glob("*.err"))
        assert compute_logs and all(p.stat().st_size > 0 for p in compute_logs), (run_id, compute_logs)
        printed += "".join(p.read_text() for p in compute_logs)
    # the retried second page was logged by its URL (the next_url, without the key) in a compute log
    assert [line for line in printed.splitlines() if "/v2/aggs/ticker/PEP/" in line and "?cursor=" in line
            and "retry" in line]
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path

    # The database: every row of every table (Dagster's event log and runs included).
    tables = all_text(database_uri)
    assert {"public.runs", "public.event_logs", "public.symbols", "public.ohlcv_daily"} <= set(tables)
    # The failures did reach the event log (where a leaky message would have taken the key).
    assert "malformed JSON" in tables["public.event_logs"] and "MSFT" in tables["public.event_logs"]
    leaked = [table for table, text in tables.items() if CANARY in text]
    assert leaked == []

    # The PostgreSQL server's log: it grew by the statements of these runs, none with the key.
    grown = b"".join(p.read_bytes()[pg_log_sizes.get(p, 0):] for p in _server_logs(test_home))
    assert b"statement: " in grown and b"ohlcv_minute" in grown, grown[-2000:]
    for path in _server_logs(test_home):
        assert CANARY.encode() not in path.read_bytes(), path

    # The Redis server's directory (its log, any dump) and everything it holds.
    redis_files = [p for p in (test_home / "redis").rglob("*") if p.is_file() and not p.is_socket()]
    assert any(p.name == "redis.log" for p in redis_files), redis_files
    for path in redis_files:
        assert CANARY.encode() not in path.read_bytes(), path
    client = redis.Redis.from_url(redis_url)
    try:
        assert not [item for item in _redis_keyspace(client) if CANARY.encode() in item]
    finally:
        client.close()

    # Every message published on Redis during the runs (loads and rebuilds announce themselves).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b"cache_updates" not in {c for c, _ in published}:
        time.sleep(0.1)
    channels = {channel for channel, _ in published}
    assert {b"admin_notifications", b"cache_updates"} <= channels, channels
    assert not [(c, d) for c, d in published if CANARY.encode() in d or CANARY.encode() in c]
