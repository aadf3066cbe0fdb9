"""Loading benchmark, part 1: writing day bars through `upsert_bars` (one call, and `load_daily`'s batches)
against the old loader's row-by-row writes."""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections import Counter
from datetime import date
from itertools import chain
from pathlib import Path
from typing import Any

import psycopg2
import psycopg2.errors
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from loading_common import WRITE_GOAL_RATIO, WRITE_GOAL_ROWS_S, SeedWriter, fresh_database

from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.loading.bars_store import BinaryRows, Row, WriteCounts, upsert_bars
from tickstock_pipelines.loading.daily import BATCH_ROWS
from tickstock_pipelines.market_calendar import sessions_between

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
