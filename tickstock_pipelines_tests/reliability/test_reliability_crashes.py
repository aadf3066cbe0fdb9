"""SIGKILL in the middle: a `tickstock load` killed mid-run and run again ends exactly like a clean load;
a `tickstock cache rebuild` killed mid-way leaves the previous cache byte for byte.

Real subprocesses on the test's PostgreSQL and Redis; the sandbox (real HTTP, real clock) is slowed down
with latency so the kill lands inside the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from tickstock_pipelines.cache.commit import ADVISORY_LOCK_KEY
from tickstock_pipelines_tests.support.cache_fixtures import raw_rows
from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.fault_scenarios import DOW30, WORKLOADS
from tickstock_pipelines_tests.support.reliability_helpers import (
    clean_tables,
    cli_env,
    count,
    differences,
    kill_when,
    loaded_tables,
    start_tickstock,
)
from tickstock_pipelines_tests.support.services import create_database
from tickstock_sandbox import SandboxConfig, SandboxServer
from tickstock_sandbox.synthetic import insert_symbols, universe_rows

pytestmark = pytest.mark.slow


@pytest.fixture
def slow_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(latency_ms=150)) as server:
        yield server


@pytest.fixture
def env(database_uri: str, redis_url: str, slow_sandbox: SandboxServer) -> dict[str, str]:
    return cli_env(database_uri, redis_url, slow_sandbox.base_url)


def _requests(server: SandboxServer, prefix: str) -> int:
    return sum(n for endpoint, n in server.stats()["by_endpoint"].items() if endpoint.startswith(prefix))


KILL_POINTS: dict[str, tuple[str, tuple[str, ...], Callable[[SandboxServer, str, int], bool]]] = {
    # (workload, CLI arguments, when to kill: sandbox, database, rows of the clean run)
    # "after some aggregates were written": load_daily commits aggregates at most once a second, so the
    # aggregates answers are slowed down (SLOW_AGGREGATES) to spread the 32 gaps over several commits.
    "while fetching ticker details": (
        "daily_aggregates", ("--symbols", ",".join([*DOW30, "SPY", "QQQ"]), "--years", "2"),
        lambda server, uri, total: _requests(server, "/v3/reference/tickers/") >= 12),
    "after some aggregates were written": (
        "daily_aggregates", ("--symbols", ",".join([*DOW30, "SPY", "QQQ"]), "--years", "2"),
        lambda server, uri, total: 0 < count(uri, "SELECT count(*) FROM ohlcv_daily") < total // 2),
    "between grouped-daily batches": (
        "daily_grouped", ("--symbols", ",".join(DOW30), "--months", "1"),
        lambda server, uri, total: count(uri, "SELECT count(*) FROM ohlcv_daily") > 0),
    "in the middle of minute pages": (
        "minute_pages", ("--symbols", "KO", "--months", "9", "--timespan", "minute"),
        lambda server, uri, total: count(uri, "SELECT count(*) FROM ohlcv_minute") > 0),
}


SLOW_AGGREGATES = {"after some aggregates were written": {"kind": "slow", "path": "/v2/aggs",
                                                          "sleep_seconds": 0.6}}
# The tests' budget (100,000 a minute) keeps 32 requests in flight: all 32 slowed answers would land within
# one commit. 1,200 a minute keeps 4 in flight, so the answers arrive over about 6 s and several commits.
FEW_IN_FLIGHT = {"POLYGON_REQUESTS_PER_MINUTE": "1200"}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_load_killed_mid_run_and_run_again_equals_a_clean_load(
        point: str, env: dict[str, str], database_uri: str, slow_sandbox: SandboxServer,
        pg_template_uri: str, redis_url: str) -> None:
    workload, args, ready = KILL_POINTS[point]
    clean = clean_tables(WORKLOADS[workload], create_database(pg_template_uri, f"crash_clean_{workload}"),
                         redis_url)
    total = sum(len(clean[t]) for t in ("ohlcv_daily", "ohlcv_minute"))

    if point in SLOW_AGGREGATES:
        slow_sandbox.inject(**SLOW_AGGREGATES[point])
        env = {**env, **FEW_IN_FLIGHT}
    process = start_tickstock(env, "load", *args)
    killed = kill_when(process, lambda: ready(slow_sandbox, database_uri, total))
    assert killed, f"the load ended before the kill point: {process.stderr.read()[-2000:]}"
    partial = loaded_tables(database_uri)
    assert differences(clean, partial), "the kill came too late to leave anything partial"

    slow_sandbox.configure(latency_ms=0, faults=[])
    again = tickstock(env, "load", *args, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert differences(clean, loaded_tables(database_uri)) == {}
    # The killed run is not left "started" for ever (it would hold the polygon pool slot).
    assert count(database_uri, "SELECT count(*) FROM runs WHERE status IN ('STARTED', 'STARTING')") == 0
    # And a third run has nothing left to do.
    third = tickstock(env, "load", *args, timeout=600)
    assert third.returncode == 0 and "0 rows new, 0 changed" in third.stdout, third.stdout


def _cache(uri: str) -> list[tuple]:
    return raw_rows(uri)


def _rebuild_connections(uri: str) -> int:
    """Backends still working for the killed rebuild (its transaction is not over until they are)."""
    return count(uri, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid <> pg_backend_pid() AND state <> 'idle'")


# The commit's lock as pg_locks shows a bigint advisory key: classid = its high 32 bits, objid = its low 32
# bits, objsubid = 1. Only this lock says "inside the commit": every run first holds migrate.py's
# migration lock (another advisory lock) for a while as it starts. The holder's transaction id (assigned
# once the commit has written, e.g. created its staging table) tells afterwards whether it committed.
_COMMIT_TRANSACTION = (
    "SELECT max(a.backend_xid::text) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid::bigint = :high AND l.objid::bigint = :low "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())")
_COMMIT_LOCK_KEY = {"high": ADVISORY_LOCK_KEY >> 32, "low": ADVISORY_LOCK_KEY & 0xFFFF_FFFF}


def _commit_transaction(uri: str) -> str | None:
    """The id of the transaction holding the cache commit's lock in this database and writing, or None."""
    return count(uri, _COMMIT_TRANSACTION, _COMMIT_LOCK_KEY)


def _transaction_status(uri: str, xid: str) -> str:
    # A fresh test cluster is in xid epoch 0, so the 32-bit id is the 64-bit one.
    return count(uri, "SELECT pg_xact_status(CAST(:xid AS xid8))", {"xid": xid})


REBUILD_KILL_POINTS = ("as the run starts", "inside the commit transaction")


@pytest.mark.parametrize("point", REBUILD_KILL_POINTS)
def test_a_rebuild_killed_mid_way_leaves_the_previous_cache_intact(
        point: str, env: dict[str, str], database_uri: str) -> None:
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:  # large enough that the rebuild takes seconds
        insert_symbols(conn, universe_rows(20_000, 2_000))
    first = tickstock(env, "cache", "rebuild")
    assert first.returncode == 0, first.stderr[-2000:]
    with engine.begin() as conn:  # the next rebuild would change most universes
        conn.execute(sa.text("UPDATE symbols SET market_cap = market_cap * 1.7 "
                             "WHERE abs(hashtext(symbol)) % 10 = 1"))
        conn.execute(sa.text("UPDATE symbols SET active = false WHERE abs(hashtext(symbol)) % 10 = 7"))
    engine.dispose()
    before = _cache(database_uri)
    assert before

    seen: list[str] = []

    def ready() -> bool:
        if point == "as the run starts":
            return count(database_uri, "SELECT count(*) FROM runs WHERE status = 'STARTED' "
                                       "AND pipeline_name = 'cache_rebuild_job'") > 0
        xid = _commit_transaction(database_uri)
        seen.extend([xid] if xid else [])
        return xid is not None

    process = start_tickstock(env, "cache", "rebuild")
    killed = kill_when(process, ready, poll=0.01)
    out, err = process.communicate(timeout=30)
    assert killed, f"the rebuild ended before the kill point: {err[-2000:]}"
    assert " committed " not in out, f"the kill came after the commit: {out}"
    deadline = time.monotonic() + 30
    while _rebuild_connections(database_uri) and time.monotonic() < deadline:
        time.sleep(0.1)
    if point == "inside the commit transaction":
        # The kill landed while the commit held its lock: that transaction never committed.
        (xid,) = seen
        assert _transaction_status(database_uri, xid) == "aborted", "the kill came after the commit"
    run_status = "SELECT status FROM runs WHERE pipeline_name = 'cache_rebuild_job' ORDER BY id DESC LIMIT 1"
    assert count(database_uri, run_status) != "SUCCESS"
    assert _cache(database_uri) == before  # every row, every column, created_at and updated_at included

    again = tickstock(env, "cache", "rebuild")  # nothing stuck: no lock left behind
    assert again.returncode == 0, again.stderr[-2000:]
    after = _cache(database_uri)
    assert after != before
    assert count(database_uri, "SELECT count(*) FROM (SELECT type, name, key FROM cache_entries "
                               "GROUP BY 1, 2, 3 HAVING count(*) > 1) d") == 0
