"""At the same time: two cache rebuilds, two loads sharing one request budget (measured where the requests
arrive, at the sandbox), a load and a rebuild. Real `tickstock` subprocesses on one database."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tickstock_pipelines_tests.support.cache_fixtures import cache_values
from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.fault_scenarios import DOW30
from tickstock_pipelines_tests.support.reliability_helpers import cli_env, count, start_tickstock, wait_until
from tickstock_sandbox import SandboxServer
from tickstock_sandbox.synthetic import insert_symbols, universe_rows

pytestmark = pytest.mark.slow


@pytest.fixture
def env(database_uri: str, redis_url: str, live_sandbox: SandboxServer) -> dict[str, str]:
    return cli_env(database_uri, redis_url, live_sandbox.base_url)


def _big_symbols(uri: str) -> None:
    engine = sa.create_engine(uri)
    with engine.begin() as conn:
        insert_symbols(conn, universe_rows(20_000, 2_000))
    engine.dispose()


_SNAPSHOT = sa.text(
    "SELECT count(*), string_agg(md5(type || name || key || value::text), '' ORDER BY type, name, key) "
    "FROM cache_entries WHERE environment = 'DEFAULT'")


class Reader(threading.Thread):
    """Reads the whole cache in one statement, over and over: every snapshot it sees is one cache."""

    def __init__(self, uri: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(uri)
        self.seen: set[tuple[int, str]] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with self.engine.connect() as conn:
                row = conn.execute(_SNAPSHOT).one()
            self.seen.add((row[0], row[1] or ""))
            time.sleep(0.02)

    def finish(self) -> set[tuple[int, str]]:
        self.stop.set()
        self.join(timeout=30)
        self.engine.dispose()
        return self.seen


def _snapshot(uri: str) -> tuple[int, str]:
    engine = sa.create_engine(uri)
    with engine.connect() as conn:
        row = conn.execute(_SNAPSHOT).one()
    engine.dispose()
    return row[0], row[1] or ""


def test_two_rebuilds_at_once_serialise_and_readers_see_old_or_new_never_a_mix(
        env: dict[str, str], database_uri: str) -> None:
    _big_symbols(database_uri)
    assert tickstock(env, "cache", "rebuild").returncode == 0
    old = _snapshot(database_uri)
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE symbols SET market_cap = market_cap * 3 "
                             "WHERE abs(hashtext(symbol)) % 5 = 0"))
    engine.dispose()

    reader = Reader(database_uri)
    reader.start()
    first, second = start_tickstock(env, "cache", "rebuild"), start_tickstock(env, "cache", "rebuild")
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    seen = reader.finish()
    assert first.returncode == 0 and second.returncode == 0, [o[1][-2000:] for o in outputs]
    new = _snapshot(database_uri)
    assert new != old
    assert seen <= {old, new}, "a reader saw a cache that is neither the old one nor the new one"
    # One of the two wrote the change; the other, serialised after it, found nothing to do.
    lines = sorted(o[0].splitlines()[0] for o in outputs)
    assert sum(" 0 new, 0 changed, " in line and " 0 deleted;" in line for line in lines) >= 1, lines
    assert count(database_uri, "SELECT count(*) FROM (SELECT 1 FROM cache_entries GROUP BY type, name, key, "
                               "environment HAVING count(*) > 1) d") == 0
    third = tickstock(env, "cache", "rebuild")
    assert " 0 new, 0 changed, " in third.stdout and " 0 deleted;" in third.stdout and _snapshot(
        database_uri) == new


def test_two_loads_at_once_share_one_request_budget_measured_at_the_sandbox(
        env: dict[str, str], database_uri: str, live_sandbox: SandboxServer) -> None:
    budget = 120.0  # requests per minute for both processes together: one every 0.5 s
    env = {**env, "POLYGON_REQUESTS_PER_MINUTE": str(int(budget))}
    left, right = DOW30[:12], DOW30[12:24]
    processes = [start_tickstock(env, "load", "--symbols", ",".join(group), "--months", "6")
                 for group in (left, right)]
    outputs = [p.communicate(timeout=600) for p in processes]
    assert all(p.returncode == 0 for p in processes), [o[1][-2000:] for o in outputs]

    requests = live_sandbox.stats()["requests"]
    times = sorted(r["monotonic"] for r in requests)
    assert len(times) >= 2 * (12 + 1 + 12)  # details, splits and one aggregates call per symbol, each load
    interval = 60.0 / budget
    # Never faster than the budget, over any stretch: n requests need at least (n - 1) intervals. The
    # budget books slots on schedule, so a request that leaves its slot late (a busy machine, two
    # processes starting) shortens the stretches it starts, by up to one interval, never the schedule.
    late = interval
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert times[j] - times[i] >= (j - i) * interval - late, (i, j, times[j] - times[i])
    observed = (len(times) - 1) / (times[-1] - times[0]) * 60
    assert observed <= budget * 1.02
    # Both loads were sending during the same stretch: the budget was shared, not taken in turns.
    def span(group: tuple[str, ...]) -> tuple[float, float]:
        mine = [r["monotonic"] for r in requests if r["ticker"] in group]
        return min(mine), max(mine)
    (a0, a1), (b0, b1) = span(left), span(right)
    overlap = min(a1, b1) - max(a0, b0)
    assert overlap > 5.0, (a0, a1, b0, b1)
    print(f"two loads: {len(times)} requests, {observed:.1f}/min observed against {budget:g}/min, "
          f"overlap {overlap:.1f} s")
    with sa.create_engine(database_uri).connect() as conn:
        loaded = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars())
    assert loaded == set(left) | set(right)


def _run_spans(uri: str) -> dict[str, list[tuple[float, float]]]:
    """Every run's (start, end) as Dagster recorded it, by job."""
    engine = sa.create_engine(uri)
    spans: dict[str, list[tuple[float, float]]] = {}
    with engine.connect() as conn:
        for job, start, end in conn.execute(sa.text(
                "SELECT pipeline_name, start_time, end_time FROM runs ORDER BY id")):
            spans.setdefault(job, []).append((start, end))
    engine.dispose()
    return spans


def test_a_load_and_a_rebuild_at_once_both_succeed_and_the_cache_is_one_snapshot_of_symbols(
        env: dict[str, str], database_uri: str) -> None:
    _big_symbols(database_uri)
    # The synthetic universe has a few real tickers already (SHW): what the load brings is the rest.
    existing = "SELECT coalesce(array_agg(symbol), '{}') FROM symbols WHERE symbol = ANY(:tickers)"
    new = set(DOW30) - set(count(database_uri, existing, {"tickers": list(DOW30)}))
    assert len(new) >= 25, sorted(set(DOW30) - new)
    # ~61 requests (30 details, splits, 30 aggregates) at 5 a second: the load's run lasts ~12 s, well
    # past the rebuild's few seconds.
    load_env = {**env, "POLYGON_REQUESTS_PER_MINUTE": "300"}
    load = start_tickstock(load_env, "load", "--symbols", ",".join(DOW30), "--months", "3")
    load_running = "SELECT count(*) FROM runs WHERE status = 'STARTED' AND pipeline_name = 'load_job'"
    assert wait_until(load, lambda: count(database_uri, load_running) > 0, poll=0.02), \
        f"the load ended before its run was seen started: {load.stderr.read()[-2000:]}"
    rebuild = start_tickstock(env, "cache", "rebuild")
    out_rebuild, err_rebuild = rebuild.communicate(timeout=300)
    out_load, err_load = load.communicate(timeout=600)
    assert rebuild.returncode == 0, err_rebuild[-2000:]
    assert load.returncode == 0, err_load[-2000:]
    # The two runs overlapped (Dagster's own start and end times), not one after the other.
    spans = _run_spans(database_uri)
    ((load_start, load_end),), ((rebuild_start, rebuild_end),) = spans["load_job"], spans["cache_rebuild_job"]
    overlap = min(load_end, rebuild_end) - max(load_start, rebuild_start)
    print(f"load run {load_end - load_start:.1f} s, rebuild run {rebuild_end - rebuild_start:.1f} s, "
          f"rebuild started {rebuild_start - load_start:.1f} s into the load, overlap {overlap:.1f} s")
    assert overlap > 0, spans
    # The load's symbols arrived in one transaction: the rebuild saw all its new ones or none of them.
    all_stocks = set(cache_values(database_uri)[("stock_universe", "complete", "all_stocks")])
    present = new & all_stocks
    print(f"the rebuild saw {'all' if present == new else 'none' if not present else 'some'} of the load's "
          f"{len(new)} new symbols")
    assert present in (set(), new), sorted(present)
    # A rebuild after both brings everything in, and a next one has nothing to do.
    assert tickstock(env, "cache", "rebuild").returncode == 0
    assert set(DOW30) <= set(cache_values(database_uri)[("stock_universe", "complete", "all_stocks")])
    assert " 0 new, 0 changed, " in tickstock(env, "cache", "rebuild").stdout
    assert count(database_uri, "SELECT count(DISTINCT symbol) FROM ohlcv_daily") == 30
