"""Loading benchmark, part 2: API calls and wall time of a first load and a weekly refresh against the
sandbox, ours and the old loader's."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).parent))

from loading_common import (
    DETAILS_MAX_AGE_DAYS,
    FREE_PLAN_PER_MINUTE,
    OUR_CONCURRENCY,
    PAID_PLAN_PER_MINUTE,
    WALL_GOAL_SECONDS,
    WEEK_SESSIONS,
    WEEKLY_AGGREGATE_CALLS_GOAL,
    SeedWriter,
    _client,
    _sp500,
    fresh_database,
)
from loading_writes import _counts

from tickstock_pipelines import embedded
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.loading.coverage import missing_gaps, record_request
from tickstock_pipelines.loading.daily import load_daily
from tickstock_pipelines.loading.planner import plan_daily
from tickstock_pipelines.loading.request import Resolved
from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.loading.sectors import load_sector_map
from tickstock_pipelines.loading.splits import check_splits
from tickstock_pipelines.loading.symbols_sync import fetch_details, needing_details, upsert_symbols
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient
from tickstock_sandbox import SandboxConfig, SandboxServer

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
