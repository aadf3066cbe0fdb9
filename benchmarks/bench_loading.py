"""Loading benchmark: bar writes, API calls and wall time, minute-bar memory; the seed's way as baseline.

1. Writes: 500 symbols × 252 sessions through `bars_store.upsert_bars` (COPY into staging, one upsert that
   skips unchanged rows) vs the seed's row-by-row INSERT … ON CONFLICT with executemany, committed per
   symbol. Goal: ≥ 200,000 rows/s and ≥ 10× the baseline.
2. Calls: an in-process sandbox adding 100 ms to every request. Ours (details only for new symbols, the
   call planner, requests kept in flight) vs the seed (details + one aggregates call per symbol, one at a
   time, on every load): the initial load of N symbols × 1 year, then the weekly refresh of the same
   symbols five sessions later (goal ≤ 6 calls). Wall time at a paid plan's budget (goal ≤ 60 s for 500).
3. Minute memory: 1 month of minute bars for N and 2N symbols streamed by `minute.load_minute`, each in
   a child process whose peak RSS is read; baseline: the same pages collected in a list first.
   Goal: ≤ 400 MB at 50 symbols and flat when the symbols double.

Run: `python benchmarks/bench_loading.py [--quick]` (about 4 minutes; --quick about 1). Writes
benchmarks/results/bench_loading.json (bench_loading_quick.json for --quick).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tickstock_pipelines import embedded
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.loading.bars_store import upsert_bars
from tickstock_pipelines.loading.coverage import Gap, missing_gaps, set_targets
from tickstock_pipelines.loading.daily import load_daily
from tickstock_pipelines.loading.minute import load_minute
from tickstock_pipelines.loading.planner import plan_daily
from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.loading.sectors import load_sector_map
from tickstock_pipelines.loading.symbols_sync import fetch_details, needing_details, upsert_symbols
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient
from tickstock_pipelines.sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache_rebuild import embedded_server

RESULTS = Path(__file__).parent / "results"
LATENCY_MS = 100.0
WRITE_GOAL_ROWS_S, WRITE_GOAL_RATIO = 200_000, 10.0
WEEKLY_GOAL_CALLS, PAID_GOAL_S, RSS_GOAL_MB = 6, 60.0, 400.0
_SEED_INSERT = sa.text(
    "INSERT INTO ohlcv_daily (symbol, date, open, high, low, close, volume, vwap, transactions) "
    "VALUES (:s, :d, :o, :h, :l, :c, :v, :vw, :n) ON CONFLICT (symbol, date) DO UPDATE SET "
    "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
    "volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, transactions = EXCLUDED.transactions")


def _database(home: Path, name: str) -> sa.Engine:
    uri = embedded.embedded_postgres_uri(home, name)
    upgrade(uri)
    return sa.create_engine(uri)


def _client(url: str, concurrency: int) -> PolygonClient:
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=url, limiter=None, sandbox=True,
                         timeout_seconds=30, max_retries=3, backoff_seconds=0.05, concurrency=concurrency)


# --- 1. writes --------------------------------------------------------------------------------------------


def bench_writes(home: Path, symbols: int) -> dict[str, Any]:
    days = [d.astype(object).isoformat() for d in sessions_between(date(2024, 1, 1), date(2024, 12, 31))]
    rows = [(f"S{i:04d}", d, 10.0 + i % 7, 11.0 + i % 7, 9.0 + i % 7, 10.5 + i % 7, 1000 + i, 10.2, 5)
            for i in range(symbols) for d in days]
    ours_engine, seed_engine = _database(home, "writes_ours"), _database(home, "writes_seed")
    timings: dict[str, float] = {}
    for label in ("first", "rerun"):
        started = time.perf_counter()
        with ours_engine.begin() as conn:
            counts = upsert_bars(conn, "day", rows)
        timings[label] = time.perf_counter() - started
        timings[f"{label}_written"] = counts.written
    started = time.perf_counter()
    for i in range(symbols):  # the seed: row by row, a commit per symbol
        chunk = rows[i * len(days):(i + 1) * len(days)]
        with seed_engine.begin() as conn:
            conn.execute(_SEED_INSERT, [dict(zip(("s", "d", "o", "h", "l", "c", "v", "vw", "n"), r,
                                                 strict=True)) for r in chunk])
    seed = time.perf_counter() - started
    first_rate, seed_rate = len(rows) / timings["first"], len(rows) / seed
    return {"rows": len(rows), "ours_first_rows_s": round(first_rate), "ours_rerun_rows_s":
            round(len(rows) / timings["rerun"]), "rerun_rows_written": timings["rerun_written"],
            "seed_rows_s": round(seed_rate), "ratio": round(first_rate / seed_rate, 1),
            "goal_met": first_rate >= WRITE_GOAL_ROWS_S and first_rate / seed_rate >= WRITE_GOAL_RATIO}


# --- 2. calls and wall time -------------------------------------------------------------------------------


def _ours_load(engine: sa.Engine, client: PolygonClient, tickers: list[str], start: date, end: date) -> None:
    sectors = load_sector_map()
    with engine.connect() as conn:
        to_fetch, _ = needing_details(conn, tickers, 30)
    rows, _ = fetch_details(client, to_fetch, sectors)
    with engine.begin() as conn:
        upsert_symbols(conn, rows)
        set_targets(conn, tickers, "day", start)
        gaps = missing_gaps(conn, tickers, "day", end)
    load_daily(engine, client, plan_daily(gaps), lambda _: None)


def _seed_load(engine: sa.Engine, client: PolygonClient, tickers: list[str], start: date, end: date) -> None:
    for ticker in tickers:  # details every time, one aggregates call per symbol, row-by-row writes
        client.ticker_details(ticker)
        bars = [b for page in client.aggregates(ticker, "day", start, end) for b in page.bars]
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO symbols (symbol) VALUES (:s) ON CONFLICT DO NOTHING"),
                         {"s": ticker})
            if bars:
                conn.execute(_SEED_INSERT, [{"s": ticker, "d": b.session_date, "o": b.open, "h": b.high,
                                             "l": b.low, "c": b.close, "v": round(b.volume), "vw": b.vwap,
                                             "n": b.transactions} for b in bars])


def _timed(fn: Any, client: PolygonClient, *args: Any) -> dict[str, Any]:
    client.calls.clear()
    started = time.perf_counter()
    fn(*args)
    wall = time.perf_counter() - started
    calls = sum(client.calls.values())
    return {"calls": calls, "by_endpoint": dict(client.calls), "wall_s": round(wall, 2),
            "free_plan_minutes": round(calls / 5, 1)}


def _a_week_later(engine: sa.Engine, days: int = 5) -> None:
    """As if the last five sessions had not happened yet when the history was loaded."""
    with engine.begin() as conn:
        last = conn.execute(sa.text("SELECT DISTINCT date FROM ohlcv_daily ORDER BY date DESC LIMIT :n"),
                            {"n": days}).scalars().all()
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE date >= :d"), {"d": min(last)})
        conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = :d"), {"d": min(last) - timedelta(1)})


def bench_calls(home: Path, count: int) -> dict[str, Any]:
    tickers = list(index_universe("sp500") or ())[:count]
    end = last_completed_session()
    start = history_start(end, years=1)
    out: dict[str, Any] = {"symbols": count, "latency_ms": LATENCY_MS}
    with SandboxServer(SandboxConfig(latency_ms=LATENCY_MS)) as sandbox:
        ours_engine, seed_engine = _database(home, "calls_ours"), _database(home, "calls_seed")
        ours, seed = _client(sandbox.base_url, concurrency=8), _client(sandbox.base_url, concurrency=1)
        with ours, seed:
            out["initial_ours"] = _timed(_ours_load, ours, ours_engine, ours, tickers, start, end)
            out["initial_seed"] = _timed(_seed_load, seed, seed_engine, seed, tickers, start, end)
            _a_week_later(ours_engine)
            _a_week_later(seed_engine)
            out["weekly_ours"] = _timed(_ours_load, ours, ours_engine, ours, tickers, start, end)
            out["weekly_seed"] = _timed(_seed_load, seed, seed_engine, seed, tickers, start, end)
    for phase in ("initial", "weekly"):
        seed_calls, ours_calls = out[f"{phase}_seed"]["calls"], out[f"{phase}_ours"]["calls"]
        out[f"{phase}_call_ratio"] = round(seed_calls / max(ours_calls, 1), 1)
    out["weekly_goal_met"] = out["weekly_ours"]["calls"] <= WEEKLY_GOAL_CALLS
    out["paid_plan_goal_met"] = out["initial_ours"]["wall_s"] * 500 / count <= PAID_GOAL_S
    return out


# --- 3. minute memory (child processes) -------------------------------------------------------------------


def minute_child(home: str, url: str, count: int, collect_first: bool) -> None:
    """Load a month of minute bars for `count` symbols; print the peak RSS in MB."""
    engine = _database(Path(home), f"minute_{count}_{int(collect_first)}")
    tickers = list(index_universe("sp500") or ())[:count]
    end = last_completed_session()
    first = sessions_between(end - timedelta(days=30), end)[0].astype(object)
    gaps = [Gap(t, first, end) for t in tickers]
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO symbols (symbol) SELECT unnest(CAST(:t AS text[]))"),
                     {"t": tickers})
    with _client(url, concurrency=1) as client:
        if collect_first:  # baseline: every page in memory, then one write
            from tickstock_pipelines.loading.bars_store import minute_rows

            pages = [(g.symbol, p.bars) for g in gaps for p in client.aggregates(g.symbol, "minute", g.first,
                                                                                g.last)]
            with engine.begin() as conn:
                upsert_bars(conn, "minute", (r for s, bars in pages for r in minute_rows(s, bars)))
        else:
            load_minute(engine, client, gaps, lambda _: None)
    print(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def bench_minute(home: Path, counts: tuple[int, int]) -> dict[str, Any]:
    out: dict[str, Any] = {"months": 1}
    with SandboxServer(SandboxConfig()) as sandbox:
        for count in counts:
            for collect_first in (False, True):
                child = subprocess.run(
                    [sys.executable, __file__, "--minute-child", str(home), sandbox.base_url, str(count),
                     str(int(collect_first))], capture_output=True, text=True, check=True, timeout=900)
                label = f"{'baseline' if collect_first else 'ours'}_{count}"
                out[label] = round(json.loads(child.stdout.strip().splitlines()[-1])["peak_rss_mb"], 1)
    small, large = counts
    out["ours_growth_when_doubled"] = round(out[f"ours_{large}"] / out[f"ours_{small}"], 2)
    out["baseline_growth_when_doubled"] = round(out[f"baseline_{large}"] / out[f"baseline_{small}"], 2)
    out["goal_met"] = out[f"ours_{large}"] <= RSS_GOAL_MB and out["ours_growth_when_doubled"] <= 1.15
    return out


# --- report -----------------------------------------------------------------------------------------------


def _print(results: dict[str, Any]) -> None:
    w, c, m = results["writes"], results["calls"], results["minute"]
    print(f"\n1. Writes ({w['rows']:,} day bars)")
    print(f"  ours first load {w['ours_first_rows_s']:>9,} rows/s   re-run {w['ours_rerun_rows_s']:,} rows/s "
          f"({w['rerun_rows_written']} rows written)")
    print(f"  seed row by row {w['seed_rows_s']:>9,} rows/s   ratio {w['ratio']}×   "
          f"goal ≥ {WRITE_GOAL_ROWS_S:,}/s and ≥ {WRITE_GOAL_RATIO:.0f}×: "
          f"{'met' if w['goal_met'] else 'NOT met'}")
    print(f"\n2. Calls, {c['symbols']} symbols × 1 year, sandbox +{c['latency_ms']:.0f} ms a request")
    print(f"  {'':22}{'calls':>7}{'wall s':>9}{'5/min plan':>12}  by endpoint")
    for key in ("initial_ours", "initial_seed", "weekly_ours", "weekly_seed"):
        r = c[key]
        print(f"  {key:22}{r['calls']:>7}{r['wall_s']:>9}{r['free_plan_minutes']:>10} min  "
              f"{r['by_endpoint']}")
    print(f"  call ratio seed/ours: initial {c['initial_call_ratio']}×, weekly {c['weekly_call_ratio']}×; "
          f"weekly ≤ {WEEKLY_GOAL_CALLS} calls: {'met' if c['weekly_goal_met'] else 'NOT met'}; "
          f"500 symbols ≤ {PAID_GOAL_S:.0f} s at a paid plan: "
          f"{'met' if c['paid_plan_goal_met'] else 'NOT met'}")
    small, large = (int(k.split("_")[1]) for k in m if k.startswith("ours_") and k[5:].isdigit())
    print(f"\n3. Minute bars, 1 month: peak RSS (MB) at {small} / {large} symbols")
    print(f"  ours (streamed)   {m[f'ours_{small}']:>7} / {m[f'ours_{large}']:<7} "
          f"×{m['ours_growth_when_doubled']}")
    print(f"  baseline (list)   {m[f'baseline_{small}']:>7} / {m[f'baseline_{large}']:<7} "
          f"×{m['baseline_growth_when_doubled']}   goal ≤ {RSS_GOAL_MB:.0f} MB and flat: "
          f"{'met' if m['goal_met'] else 'NOT met'}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--minute-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.minute_child:
        home, url, count, collect = args.minute_child
        minute_child(home, url, int(count), collect == "1")
        return {}
    write_symbols, call_symbols, minute_counts = (100, 50, (5, 10)) if args.quick else (500, 500, (25, 50))
    started = time.perf_counter()
    with embedded_server() as home:
        results = {"writes": bench_writes(home, write_symbols), "calls": bench_calls(home, call_symbols),
                   "minute": bench_minute(home, minute_counts)}
    results["meta"] = {"quick": args.quick, "seconds": round(time.perf_counter() - started, 1),
                       "when": datetime.now(UTC).isoformat(), "python": platform.python_version(),
                       "machine": platform.machine()}
    _print(results)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench_loading{'_quick' if args.quick else ''}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"\n{results['meta']['seconds']} s in all; written to {out}")
    return results


if __name__ == "__main__":
    main()
