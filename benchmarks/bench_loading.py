"""Loading benchmark on a fresh embedded PostgreSQL and an in-process sandbox, the old loader as baseline.

The old loader is TickStock's loader before these pipelines, rebuilt here (`seed` in the results).

1. Writes: 500 symbols × 252 sessions (126,000 day bars) through `bars_store.upsert_bars` (COPY straight
   in when the bars are new, else COPY into staging + INSERT … ON CONFLICT that skips unchanged rows), as
   one call and in `load_daily`'s batches (consecutive symbols' bars until BATCH_ROWS, a call and a
   commit per batch), against the old loader's INSERT … ON CONFLICT DO UPDATE per row (psycopg2
   `executemany`), committed per symbol. A first load into an empty table, then a re-run of the same
   bars (our counts must say "unchanged"). The batched variant and the old loader take turns batch by
   batch, so load from elsewhere hits both alike.
   Goal (issue 4): ≥ 200,000 rows/s and ≥ 10× the row-by-row baseline.
2. API calls: the real loaders against `SandboxServer(SandboxConfig(latency_ms=100))` (real clock; issue 4
   asks for 100 ms of simulated latency, --latency-ms changes it) through `PolygonClient` with the shared
   Redis budget at a paid-plan 6,000 requests a minute (embedded Redis); its `calls` counter is checked
   against the requests the sandbox received. Ours is the asset's path: details only for new or stale
   symbols (`needing_details`, `fetch_details`), the split check, `coverage.missing_gaps`,
   `planner.plan_daily`, `daily.load_daily`, with the resource's default 4 requests in flight. The old loader:
   details + one aggregates call per symbol, one at a time, rows written one by one, on every load.
   Scenarios: the S&P 500 (first 500 tickers) with a year of daily bars into an empty database (goal
   ≤ 60 s); then the weekly refresh a week later (the last 5 sessions removed, as if the first load had
   run a week before; goal ≤ 6 aggregate calls). The old loader's refresh asks the shortest window its UI
   offers (1 month). Reported: calls by endpoint, wall time, and the time the free plan (5 requests a
   minute: 12 s a request) needs.
3. Minute memory: 1 month of minute bars (one page of ~8,600 bars a symbol) for 1, 5 and 20 symbols, and
   1 symbol × 12 months (two pages, the first of 50,000 bars), streamed by `minute.load_minute`; baseline:
   the same pages collected in a list first, then written page by page. Each case runs in a fresh child
   process, loaded twice after a warm-up: peak RSS growth over the RSS before the first load (the kernel's
   high-water mark, reset through /proc/self/clear_refs), the tracemalloc peak on the second. Ours must
   stay flat as symbols are added (judged between the two largest counts: the first symbols add the page).

Run: `python benchmarks/bench_loading.py [--quick]` (about 3½ minutes; --quick: 100 symbols for writes and
calls, where the planner picks aggregates, minute bars for 2 and 5 symbols; about a minute). Writes
benchmarks/results/bench_loading.json (bench_loading_quick.json for --quick).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import psutil
import psycopg2
import psycopg2.errors
import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache_rebuild import embedded_server as _shared_embedded_server
from bench_results import machine, write_results

from tickstock_pipelines import embedded
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.loading.bars_store import BinaryRows, Row, WriteCounts, minute_rows, upsert_bars
from tickstock_pipelines.loading.coverage import Gap, mark_loaded, missing_gaps, record_request
from tickstock_pipelines.loading.daily import BATCH_ROWS, load_daily
from tickstock_pipelines.loading.minute import load_minute
from tickstock_pipelines.loading.planner import plan_daily
from tickstock_pipelines.loading.request import Resolved
from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.loading.sectors import load_sector_map
from tickstock_pipelines.loading.splits import check_splits
from tickstock_pipelines.loading.symbols_sync import fetch_details, needing_details, upsert_symbols
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient, SharedRateLimiter
from tickstock_pipelines.settings import libpq_uri
from tickstock_sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer

WRITE_GOAL_ROWS_S, WRITE_GOAL_RATIO = 200_000, 10.0
FREE_PLAN_PER_MINUTE = 5
PAID_PLAN_PER_MINUTE = 6_000  # Polygon's paid plans: unlimited calls, but stay under 100 requests a second
LATENCY_MS = 100.0  # issue 4: the call scenarios run against a sandbox that answers 100 ms late
WEEK_SESSIONS = 5  # the weekly refresh: a week of sessions missing for every loaded symbol
WALL_GOAL_SECONDS, WEEKLY_AGGREGATE_CALLS_GOAL = 60.0, 6
DETAILS_MAX_AGE_DAYS = 30.0  # SymbolsConfig.max_details_age_days' default
OUR_CONCURRENCY = 4  # PolygonResource.concurrency's default
_SEED_INSERT = (
    "INSERT INTO ohlcv_daily (symbol, date, open, high, low, close, volume, vwap, transactions) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (symbol, date) DO UPDATE SET "
    "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
    "volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, transactions = EXCLUDED.transactions")
_SEED_SYMBOL = ("INSERT INTO symbols (symbol, name, type, active) VALUES (%s, %s, %s, true) "
                "ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, "
                "last_updated = now()")


def fresh_database(home: Path, name: str) -> str:
    uri = embedded.embedded_postgres_uri(home, name)
    upgrade(uri)
    return uri


def embedded_server() -> AbstractContextManager[Path]:
    """bench_cache_rebuild's throwaway TICKSTOCK_HOME, but the server stops with `-m immediate`: its
    directory is deleted right after, so the shutdown checkpoint of every dirty page is wasted time."""
    return _shared_embedded_server(stop_mode="immediate")


def _client(url: str, concurrency: int, redis_client: redis.Redis | None = None) -> PolygonClient:
    """With a Redis client every request waits for its slot in a shared paid-plan budget, as in production."""
    key = f"tickstock:polygon:bench:{os.getpid()}"
    limiter = SharedRateLimiter(redis_client, PAID_PLAN_PER_MINUTE, key=key) if redis_client else None
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=url, limiter=limiter, sandbox=True,
                         timeout_seconds=30, max_retries=3, backoff_seconds=0.05, concurrency=concurrency)


def _sp500() -> list[str]:
    return list(index_universe("sp500") or ())


class SeedWriter:
    """The old loader's writes: an INSERT … ON CONFLICT DO UPDATE per row (executemany), a commit a symbol."""

    def __init__(self, uri: str) -> None:
        self.conn = psycopg2.connect(libpq_uri(uri))

    def bars(self, rows: list[Row]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_SEED_INSERT, rows)
        self.conn.commit()

    def symbol(self, ticker: str, name: str | None, kind: str | None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(_SEED_SYMBOL, (ticker, name, kind))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()


# --- 1. writes --------------------------------------------------------------------------------------------


def _synthetic_bars(symbols: int) -> dict[str, list[Row]]:
    """A random walk per symbol over the 252 sessions of 2024, rows as `daily_rows` makes them."""
    days = [d.astype(object) for d in sessions_between(date(2024, 1, 1), date(2024, 12, 31))]
    rng = random.Random(7)
    out: dict[str, list[Row]] = {}
    for i in range(symbols):
        symbol, price, rows = f"W{i:04d}", 20 + rng.random() * 200, []
        for day in days:
            close = price * (1 + rng.gauss(0, 0.02))
            rows.append((symbol, day, round(price, 4), round(max(price, close) * 1.01, 4),
                         round(min(price, close) * 0.99, 4), round(close, 4), rng.randint(100_000, 9_000_000),
                         round((price + close) / 2, 4), rng.randint(100, 5_000)))
            price = close
        out[symbol] = rows
    return out


def _counts(c: WriteCounts) -> dict[str, int]:
    return {"inserted": c.inserted, "updated": c.updated, "unchanged": c.unchanged}


def _failed_copy_seconds(engine: sa.Engine, rows: list[Row]) -> float:
    """What a re-run pays before the upsert: the straight COPY that fails on the first existing row."""
    with engine.begin() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        with raw.cursor() as cursor:
            cursor.execute("SAVEPOINT bench")
            started = time.perf_counter()
            try:
                cursor.copy_expert("COPY ohlcv_daily (symbol, date, open, high, low, close, volume, vwap, "
                                   "transactions) FROM STDIN WITH (FORMAT binary)", BinaryRows(rows, "day"))
            except psycopg2.errors.UniqueViolation:
                pass
            spent = time.perf_counter() - started
            cursor.execute("ROLLBACK TO SAVEPOINT bench")
    return spent


def bench_writes(home: Path, symbols: int, repeats: int) -> dict[str, Any]:
    bars = _synthetic_bars(symbols)
    every = [r for rows in bars.values() for r in rows]
    n = len(every)
    one_call = get_engine(fresh_database(home, "writes_one_call"))
    batched = get_engine(fresh_database(home, "writes_batched"))
    seed_uri = fresh_database(home, "writes_seed")

    # ours, one call: repeats of (empty table → first load → re-run)
    runs: dict[str, list[float]] = {"first": [], "rerun": []}
    counts: dict[str, WriteCounts] = {}
    for _ in range(repeats):
        with one_call.begin() as conn:
            conn.execute(sa.text("TRUNCATE ohlcv_daily"))
        for phase in ("first", "rerun"):
            started = time.perf_counter()
            with one_call.begin() as conn:
                counts[phase] = upsert_bars(conn, "day", every)
            runs[phase].append(time.perf_counter() - started)
    failed_copy = statistics.median(_failed_copy_seconds(one_call, every) for _ in range(repeats))

    # ours in load_daily's batches and the old loader, batch by batch in turns (who goes first alternates)
    batches: list[list[list[Row]]] = [[]]
    for rows in bars.values():
        if sum(map(len, batches[-1])) >= BATCH_ROWS:
            batches.append([])
        batches[-1].append(rows)
    seed = SeedWriter(seed_uri)
    spent: dict[str, Counter[str]] = {"first": Counter(), "rerun": Counter()}
    batched_counts = {"first": WriteCounts(), "rerun": WriteCounts()}
    try:
        for phase in ("first", "rerun"):
            for k, batch in enumerate(batches):
                for side in (("ours", "seed") if k % 2 == 0 else ("seed", "ours")):
                    started = time.perf_counter()
                    if side == "ours":
                        with batched.begin() as conn:
                            batched_counts[phase].add(upsert_bars(conn, "day", chain.from_iterable(batch)))
                    else:
                        for rows in batch:
                            seed.bars(rows)
                    spent[phase][side] += time.perf_counter() - started
    finally:
        seed.close()
    with get_engine(seed_uri).connect() as conn:
        seed_rows = conn.execute(sa.text("SELECT count(*) FROM ohlcv_daily")).scalar_one()

    def rate(seconds: float) -> int:
        return round(n / seconds)

    out: dict[str, Any] = {"rows": n, "symbols": symbols, "sessions": n // symbols,
                           "repeats_one_call": repeats}
    for phase in ("first", "rerun"):
        seed_rate = rate(spent[phase]["seed"])
        one, ours = statistics.median(runs[phase]), spent[phase]["ours"]
        out[phase] = {
            "ours_one_call": {"seconds": round(one, 3), "rows_s": rate(one), "ratio_vs_seed":
                              round(rate(one) / seed_rate, 1), "counts": _counts(counts[phase]),
                              "runs_seconds": [round(s, 3) for s in runs[phase]]},
            "ours_batched": {"seconds": round(ours, 3), "rows_s": rate(ours), "batches": len(batches),
                             "ratio_vs_seed": round(rate(ours) / seed_rate, 1),
                             "counts": _counts(batched_counts[phase])},
            "seed_row_by_row": {"seconds": round(spent[phase]["seed"], 3), "rows_s": seed_rate},
        }
    out["seed_rows_stored"] = seed_rows
    out["rerun_failed_copy_seconds"] = round(failed_copy, 3)
    out["rerun_failed_copy_share"] = round(failed_copy / statistics.median(runs["rerun"]), 2)
    first = out["first"]["ours_one_call"]
    out["goal"] = {"rows_s": WRITE_GOAL_ROWS_S, "ratio": WRITE_GOAL_RATIO,
                   "met_one_call": first["rows_s"] >= WRITE_GOAL_ROWS_S and first["ratio_vs_seed"] >= 10,
                   "met_batched": out["first"]["ours_batched"]["rows_s"] >= WRITE_GOAL_ROWS_S
                   and out["first"]["ours_batched"]["ratio_vs_seed"] >= WRITE_GOAL_RATIO}
    out["checks"] = {
        "first_all_inserted": counts["first"].inserted == n and batched_counts["first"].inserted == n,
        "rerun_all_unchanged": counts["rerun"].unchanged == n and batched_counts["rerun"].unchanged == n,
        "seed_stored_all": seed_rows == n,
    }
    return out


# --- 2. API calls and wall time ---------------------------------------------------------------------------

Ask = tuple[list[str], date]  # tickers and the first day of their wanted history


def _ours_run(engine: sa.Engine, client: PolygonClient, asks: list[Ask], end: date) -> dict[str, Any]:
    """What the `symbols` and `ohlcv_daily` assets do for these requests, in one run."""
    wanted = list(dict.fromkeys(t for tickers, _ in asks for t in tickers))
    with engine.connect() as conn:
        to_fetch, fresh = needing_details(conn, wanted, DETAILS_MAX_AGE_DAYS)
    rows, sync = fetch_details(client, to_fetch, load_sector_map())
    with engine.begin() as conn:
        upsert_symbols(conn, rows)
        for tickers, start in asks:
            record_request(conn, Resolved(tuple(tickers), start), run_id=None)
    with engine.begin() as conn:
        splits = check_splits(conn, client, wanted, end)
    with engine.connect() as conn:
        gaps = missing_gaps(conn, wanted, "day", end)
    plan = plan_daily(gaps)
    outcome = load_daily(engine, client, plan, lambda _: None)
    return {"details_fetched": len(sync.fetched), "details_fresh": len(fresh),
            "splits_refetch": splits.refetch, "gaps": len(gaps), "plan": plan.strategy,
            "grouped_calls_planned": len(plan.grouped_sessions),
            "aggregates_calls_planned": len(plan.aggregates), "rows": _counts(outcome.counts),
            "rejected_bars": len(outcome.rejected)}


def _seed_run(uri: str, client: PolygonClient, asks: list[Ask], end: date) -> dict[str, Any]:
    """The old loader: details every time, one aggregates call per symbol, rows written one by one."""
    writer, rows = SeedWriter(uri), 0
    try:
        for tickers, start in asks:
            for ticker in tickers:
                details = client.ticker_details(ticker)
                writer.symbol(ticker, details.name if details else None, details.type if details else None)
                bars = [(ticker, b.session_date, b.open, b.high, b.low, b.close, round(b.volume), b.vwap,
                         b.transactions) for page in client.aggregates(ticker, "day", start, end)
                        for b in page.bars]
                if bars:
                    writer.bars(bars)
                rows += len(bars)
    finally:
        writer.close()
    return {"row_upserts": rows}


def _measured(sandbox: SandboxServer, client: PolygonClient,
              run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    client.calls.clear()
    at_server = sandbox.stats()["total_requests"]
    started = time.perf_counter()
    detail = run()
    wall = time.perf_counter() - started
    calls = sum(client.calls.values())
    return {"calls": calls, "by_endpoint": dict(sorted(client.calls.items())),
            "received_by_sandbox": sandbox.stats()["total_requests"] - at_server, "wall_s": round(wall, 2),
            "free_plan_minutes": round(calls / FREE_PLAN_PER_MINUTE, 1), **detail}


def _a_week_later(uri: str, cutoff: date, ours: bool) -> None:
    """As if the first load had run a week earlier: the bars after `cutoff` were not there yet."""
    with get_engine(uri).begin() as conn:
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE date > :c"), {"c": cutoff})
        if ours:
            conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = :c WHERE timespan = 'day' "
                                 "AND loaded_end > :c"), {"c": cutoff})


def bench_calls(home: Path, count: int, latency_ms: float) -> dict[str, Any]:
    tickers = _sp500()[:count]
    end = last_completed_session()
    cutoff = sessions_between(end - timedelta(days=20), end)[-1 - WEEK_SESSIONS].astype(object)
    year, month = history_start(end, years=1), history_start(end, months=1)
    ours_uri, seed_uri = fresh_database(home, "calls_ours"), fresh_database(home, "calls_seed")
    ours_engine = get_engine(ours_uri)
    out: dict[str, Any] = {"symbols": count, "last_session": end.isoformat(), "week_sessions": WEEK_SESSIONS,
                           "latency_ms": latency_ms, "budget_per_minute": PAID_PLAN_PER_MINUTE,
                           "ours_concurrency": OUR_CONCURRENCY, "seed_concurrency": 1}
    redis_client = redis.Redis.from_url(embedded.embedded_redis_url(home))
    try:
        with SandboxServer(SandboxConfig(latency_ms=latency_ms)) as sandbox, \
                _client(sandbox.base_url, OUR_CONCURRENCY, redis_client) as ours, \
                _client(sandbox.base_url, 1, redis_client) as seed:
            wanted = [(tickers, year)]
            out["initial"] = {
                "ours": _measured(sandbox, ours, lambda: _ours_run(ours_engine, ours, wanted, end)),
                "seed": _measured(sandbox, seed, lambda: _seed_run(seed_uri, seed, wanted, end))}
            _a_week_later(ours_uri, cutoff, ours=True)
            _a_week_later(seed_uri, cutoff, ours=False)
            out["weekly"] = {  # the old loader's refresh asks the shortest window its UI offers: 1 month
                "ours": _measured(sandbox, ours, lambda: _ours_run(ours_engine, ours, wanted, end)),
                "seed": _measured(sandbox, seed, lambda: _seed_run(seed_uri, seed, [(tickers, month)], end))}
    finally:
        try:
            redis_client.shutdown(nosave=True)  # the embedded server daemonizes: stop the one we started
        except redis.RedisError as exc:
            print(f"warning: could not stop the embedded Redis: {exc}", file=sys.stderr)
    for scenario in ("initial", "weekly"):
        s = out[scenario]
        s["call_ratio_seed_vs_ours"] = round(s["seed"]["calls"] / max(s["ours"]["calls"], 1), 1)
        s["wall_ratio_seed_vs_ours"] = round(s["seed"]["wall_s"] / max(s["ours"]["wall_s"], 0.01), 1)
    summary = sa.text("SELECT count(*), count(DISTINCT symbol), max(date) FROM ohlcv_daily")
    with ours_engine.connect() as conn:
        stored = conn.execute(summary).one()
    with get_engine(seed_uri).connect() as conn:
        seed_stored = conn.execute(summary).one()
    out["stored"] = {"ours": [stored[0], stored[1], str(stored[2])],
                     "seed": [seed_stored[0], seed_stored[1], str(seed_stored[2])]}
    out["checks"] = {
        "client_count_matches_sandbox": all(out[s][w]["calls"] == out[s][w]["received_by_sandbox"]
                                            for s in ("initial", "weekly") for w in ("ours", "seed")),
        "same_bars_stored": stored[0] == seed_stored[0] and stored[1] == seed_stored[1] == count,
        "last_session_stored": stored[2] == end == seed_stored[2],
    }
    weekly = out["weekly"]["ours"]["by_endpoint"]
    aggregate_calls = sum(n for endpoint, n in weekly.items() if endpoint in ("aggs", "grouped_daily"))
    out["goal"] = {"wall_s": WALL_GOAL_SECONDS, "weekly_aggregate_calls": WEEKLY_AGGREGATE_CALLS_GOAL,
                   "initial_wall_met": out["initial"]["ours"]["wall_s"] <= WALL_GOAL_SECONDS,
                   "weekly_aggregate_calls_met": aggregate_calls <= WEEKLY_AGGREGATE_CALLS_GOAL}
    return out


# --- 3. minute memory (a fresh child process per measurement) ---------------------------------------------


class PeakRss:
    """Peak RSS of this process from now on: the kernel's high-water mark reset through
    /proc/self/clear_refs (Linux ≥ 4.0), else a thread sampling psutil every millisecond.

    Not ru_maxrss: a child started by subprocess inherits the parent's high-water mark at exec.
    """

    def __init__(self) -> None:
        self.method, self._sampled, self._stop = "VmHWM after clear_refs", 0, threading.Event()
        try:
            with open("/proc/self/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            self.method = "psutil sampled every 1 ms"
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.001):
            self._sampled = max(self._sampled, me.memory_info().rss)

    def peak(self) -> int:
        if self.method.startswith("VmHWM"):
            with open("/proc/self/status") as f:
                return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
        self._stop.set()
        self._thread.join()
        return max(self._sampled, psutil.Process().memory_info().rss)


def _minute_load(engine: sa.Engine, client: PolygonClient, gaps: list[Gap],
                 collect_first: bool) -> dict[str, Any]:
    started = time.perf_counter()
    if collect_first:  # baseline: every page in a list, then the writes (page by page)
        collected = [(g, page) for g in gaps
                     for page in client.aggregates(g.symbol, "minute", g.first, g.last)]
        bars = 0
        for gap, page in collected:
            with engine.begin() as conn:
                bars += upsert_bars(conn, "minute", minute_rows(gap.symbol, page.bars)).inserted
        with engine.begin() as conn:
            mark_loaded(conn, gaps, "minute")
        pages, largest = len(collected), max(len(p.bars) for _, p in collected)
    else:
        outcome = load_minute(engine, client, gaps, lambda _: None)
        bars, pages, largest = outcome.counts.inserted, outcome.pages, None
    return {"bars": bars, "pages": pages, "largest_page": largest,
            "seconds": round(time.perf_counter() - started, 2)}


def minute_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One month of minute bars for `count` symbols, streamed or collected first, loaded twice after a
    warm-up: peak RSS growth on the first load, the tracemalloc peak on the second (tables emptied first)."""
    engine = get_engine(spec["uri"])
    universe = _sp500()
    end = last_completed_session()
    days = sessions_between(history_start(end, months=spec["months"]), end)
    first, last = days[0].astype(object), days[-1].astype(object)
    gaps = [Gap(t, first, last) for t in universe[:spec["count"]]]
    mb = 1024 * 1024

    def empty() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE ohlcv_minute, coverage_targets"))
        gc.collect()

    empty()
    with _client(spec["url"], 1) as client:
        # warm-up outside the measurement: imports, a connection, one session of another symbol end to end
        load_minute(engine, client, [Gap(universe[-1], last, last)], lambda _: None)
        empty()
        rss_before = psutil.Process().memory_info().rss
        peak_rss = PeakRss()
        out = _minute_load(engine, client, gaps, spec["collect_first"])
        peak = peak_rss.peak()
        out.update(rss_before_mb=round(rss_before / mb, 1), peak_rss_mb=round(peak / mb, 1),
                   rss_growth_mb=round(max(peak - rss_before, 0) / mb, 1), peak_method=peak_rss.method)
        empty()
        tracemalloc.start()
        traced = _minute_load(engine, client, gaps, spec["collect_first"])
        out["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / mb, 2)
        tracemalloc.stop()
        out["tracemalloc_bars"] = traced["bars"]
    return out


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--minute-child", json.dumps(spec)], capture_output=True,
                          text=True, timeout=600, check=False)
    if done.returncode:
        raise RuntimeError(f"minute child {spec['count']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_minute(home: Path, counts: list[int], full_pages: bool) -> dict[str, Any]:
    """1 month for each count of symbols; with `full_pages`, also 1 symbol × 12 months (pages of 50,000)."""
    out: dict[str, Any] = {"months_per_symbol": 1, "counts": counts, "ours": {}, "baseline": {}}
    uris = {side: fresh_database(home, f"minute_{side}") for side in ("ours", "baseline")}
    runs = [(str(count), count, 1) for count in counts] + ([("1x12", 1, 12)] if full_pages else [])
    with SandboxServer(SandboxConfig()) as sandbox:
        for key, count, months in runs:
            for side, collect in (("ours", False), ("baseline", True)):
                out[side][key] = _child({"uri": uris[side], "url": sandbox.base_url, "count": count,
                                         "months": months, "collect_first": collect})
    # MB per added symbol between the two largest runs: the first symbols add the one page held in
    # memory (and the previous page still referenced while the next one is parsed); after that, nothing
    lo, hi = str(counts[-2]), str(counts[-1])
    for side in ("ours", "baseline"):
        for measure in ("rss_growth_mb", "tracemalloc_peak_mb"):
            grown = out[side][hi][measure] - out[side][lo][measure]
            out[f"{side}_{measure}_per_added_symbol"] = round(grown / (counts[-1] - counts[-2]), 2)
    # flat: ours adds under a tenth of what the list adds per symbol (RSS: or under 0.5 MB, allocator noise)
    out["flat"] = {
        "rss": out["ours_rss_growth_mb_per_added_symbol"]
        <= max(0.5, out["baseline_rss_growth_mb_per_added_symbol"] / 10),
        "tracemalloc": out["ours_tracemalloc_peak_mb_per_added_symbol"]
        <= out["baseline_tracemalloc_peak_mb_per_added_symbol"] / 10,
        "one_page_per_symbol_month": all(out["ours"][str(c)]["pages"] == c for c in counts),
    }
    return out


# --- report -----------------------------------------------------------------------------------------------


def _duration(minutes: float) -> str:
    return f"{minutes:.0f} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def _print(results: dict[str, Any]) -> None:
    w = results["writes"]
    print(f"1. Writes: {w['rows']:,} day bars ({w['symbols']} symbols × {w['sessions']} sessions)")
    print(f"  {'':34}{'first load':>22}{'re-run (nothing changes)':>34}")
    print(f"  {'':34}{'rows/s':>12}{'× seed':>10}{'rows/s':>12}{'× seed':>10}  re-run counts")
    for key, label in (("ours_one_call", "ours, one upsert_bars call"),
                       ("ours_batched", "ours, load_daily's batches"),
                       ("seed_row_by_row", "seed, executemany per symbol")):
        first, rerun = w["first"][key], w["rerun"][key]
        counts = rerun.get("counts")
        print(f"  {label:34}{first['rows_s']:>12,}{first.get('ratio_vs_seed', 1.0):>9}×"
              f"{rerun['rows_s']:>12,}{rerun.get('ratio_vs_seed', 1.0):>9}×  "
              + (f"{counts['unchanged']:,} unchanged, {counts['inserted'] + counts['updated']} written"
                 if counts else "every row rewritten"))
    print(f"  re-run: the straight COPY that fails on the first existing row costs "
          f"{w['rerun_failed_copy_seconds']} s ({w['rerun_failed_copy_share']:.0%} of the one-call re-run)")
    print(f"  goal ≥ {WRITE_GOAL_ROWS_S:,} rows/s and ≥ {WRITE_GOAL_RATIO:.0f}× seed: one call "
          f"{'met' if w['goal']['met_one_call'] else 'NOT met'}, batched "
          f"{'met' if w['goal']['met_batched'] else 'NOT met'}; checks {w['checks']}")

    c = results["calls"]
    print(f"\n2. API calls (sandbox, real clock, last session {c['last_session']}, +{c['latency_ms']:g} ms a "
          f"request, a shared budget of {c['budget_per_minute']:,}/min; ours {c['ours_concurrency']} in "
          f"flight, seed one at a time)")
    print(f"  {'scenario':34}{'loader':>7}{'calls':>7}{'wall s':>9}{'at 5/min':>10}  by endpoint")
    titles = {"initial": f"{c['symbols']} × 1 year, empty database",
              "weekly": f"weekly refresh: +{c['week_sessions']} sessions × {c['symbols']}"}
    for scenario, title in titles.items():
        for who in ("ours", "seed"):
            r = c[scenario][who]
            print(f"  {title if who == 'ours' else '':34}{who:>7}{r['calls']:>7}{r['wall_s']:>9}"
                  f"{_duration(r['free_plan_minutes']):>10}  "
                  + ", ".join(f"{k} {v}" for k, v in r["by_endpoint"].items()))
        s = c[scenario]
        print(f"  {'':34}{'seed÷ours':>7}{s['call_ratio_seed_vs_ours']:>6}×"
              f"{s['wall_ratio_seed_vs_ours']:>8}×     ours: {s['ours']['plan']}, {s['ours']['gaps']} gaps, "
              f"rows {s['ours']['rows']}")
    g = c["goal"]
    print(f"  goals: initial load ≤ {g['wall_s']:g} s {'met' if g['initial_wall_met'] else 'NOT met'}; "
          f"weekly refresh ≤ {g['weekly_aggregate_calls']} aggregate calls "
          f"{'met' if g['weekly_aggregate_calls_met'] else 'NOT met'}")
    print(f"  stored (rows, symbols, last date): ours {c['stored']['ours']}, seed {c['stored']['seed']}; "
          f"checks {c['checks']}")

    m = results["minute"]
    print("\n3. Minute bars, 1 month a symbol: RSS growth, tracemalloc peak (MB), a fresh process each")
    print(f"  {'symbols':>8}{'bars':>10}{'pages':>7}{'ours RSS':>10}{'list RSS':>10}{'ours tm':>9}"
          f"{'list tm':>9}{'ours s':>8}{'list s':>8}")
    for key in m["ours"]:
        o, b = m["ours"][key], m["baseline"][key]
        print(f"  {key:>8}{o['bars']:>10,}{o['pages']:>7}{o['rss_growth_mb']:>10}{b['rss_growth_mb']:>10}"
              f"{o['tracemalloc_peak_mb']:>9}{b['tracemalloc_peak_mb']:>9}{o['seconds']:>8}{b['seconds']:>8}")
    per = {f"{side}_{measure}": m[f"{side}_{measure}_per_added_symbol"] for side in ("ours", "baseline")
           for measure in ("rss_growth_mb", "tracemalloc_peak_mb")}
    print(f"  {'per added symbol':>25}{per['ours_rss_growth_mb']:>10}{per['baseline_rss_growth_mb']:>10}"
          f"{per['ours_tracemalloc_peak_mb']:>9}{per['baseline_tracemalloc_peak_mb']:>9}"
          f"   ({m['counts'][-2]} → {m['counts'][-1]} symbols)")
    largest = str(m["counts"][-1])
    if "1x12" in m["ours"]:
        print(f"  1x12 = one symbol × 12 months: {m['ours']['1x12']['pages']} pages, the largest "
              f"{m['baseline']['1x12']['largest_page']:,} bars")
    print(f"  flat: {m['flat']}; peak RSS of the largest run: ours {m['ours'][largest]['peak_rss_mb']} MB, "
          f"list {m['baseline'][largest]['peak_rss_mb']} MB ({m['ours'][largest]['peak_method']})")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="100 symbols, minute bars for 2 and 5 symbols (about a minute)")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS,
                        help=f"ms the sandbox adds to each call-part request (default {LATENCY_MS:g})")
    parser.add_argument("--minute-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.minute_child:
        print(json.dumps(minute_child(json.loads(args.minute_child))))
        return {}
    write_symbols, repeats, call_symbols, minute_counts = ((100, 2, 100, [2, 5]) if args.quick
                                                           else (500, 3, 500, [1, 5, 20]))
    started = time.perf_counter()
    results: dict[str, Any] = {"benchmark": "bench_loading", "quick": args.quick, **machine(),
                               "wall_seconds": None, "seconds": {}}
    with embedded_server() as home:
        for part, run in (("writes", lambda: bench_writes(home, write_symbols, repeats)),
                          ("calls", lambda: bench_calls(home, call_symbols, args.latency_ms)),
                          ("minute", lambda: bench_minute(home, minute_counts, not args.quick))):
            t = time.perf_counter()
            results[part] = run()
            results["seconds"][part] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
    results["seconds"]["server_stop"] = round(time.perf_counter() - t, 1)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    out = write_results("bench_loading", results, args.quick)
    _print(results)
    print(f"\nwritten to {out} ({results['wall_seconds']} s: {results['seconds']})")
    return results


if __name__ == "__main__":
    main()
