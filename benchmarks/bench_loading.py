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
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))
from bench_results import machine, write_results
from loading_calls import bench_calls
from loading_common import LATENCY_MS, _client, _sp500, embedded_server, fresh_database
from loading_report import _print
from loading_writes import bench_writes

from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.loading.bars_store import minute_rows, upsert_bars
from tickstock_pipelines.loading.coverage import Gap, mark_loaded
from tickstock_pipelines.loading.minute import load_minute
from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient
from tickstock_sandbox import SandboxConfig, SandboxServer

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
