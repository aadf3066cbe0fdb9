"""Polygon client benchmark against the in-process sandbox, each figure next to a raw `requests`
baseline measured in the same process.

1. Throughput of `PolygonClient.ticker_details` (shared Redis budget at 6,000,000/min, and without a
   limiter) against a raw `requests.Session` doing GET + `.json()`: the client's overhead (budget
   round trip, validation). The variants take turns request by request, so load from elsewhere on a
   noisy machine falls on them alike; rates and the ratio come from median request times.
2. Spacing under a small budget (120/min, so 0.5 s): intervals between request arrivals at the server.
3. Pagination: listing every active ticker (the shipped universe has 916, so synthetic listings are
   added to make two pages of 1,000) and one ticker's minute bars for a year (~97,500 bars, two pages
   of 50,000): requests counted by `client.calls` and at the server, wall time, against raw requests
   following `next_url` the same way.
4. Throughput at a paid budget (issue 14), in rounds that alternate no limiter, the budget as issue 14
   found it (spacing only) and today's exact budget: when the budget binds, the achieved rate ÷ the
   budget; when it does not, the same-round ratios (budget_rounds.py says how and why).

Redis is an embedded server started under a temporary TICKSTOCK_HOME (unix socket only) and shut down
at the end; the sandbox listens on 127.0.0.1. Nothing leaves the machine.

Run: `python benchmarks/bench_client.py [--quick]` (about three minutes; --quick: shorter phases,
about a minute). Writes benchmarks/results/bench_client.json (bench_client_quick.json for --quick).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import budget_rounds
import redis
import requests
from bench_results import machine, write_results
from client_plan import (
    FULL,
    HUGE_RPM,
    LISTED_TARGET,
    MINUTE_END,
    MINUTE_START,
    QUICK,
    SANDBOX_NOW,
    SPACING_RPM,
    TICKER,
    Plan,
)
from client_report import render
from client_timing import interleaved, quantile, timed

from tickstock_pipelines import embedded
from tickstock_pipelines.resources.polygon import PolygonClient, SharedRateLimiter
from tickstock_sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer


# -- 1. throughput --------------------------------------------------------------------------------
def _throughput(base_url: str, redis_client: redis.Redis, key: str, plan: Plan) -> dict[str, Any]:
    url = f"{base_url}/v3/reference/tickers/{TICKER}"
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"})
    limiter = SharedRateLimiter(redis_client, HUGE_RPM, key=key)
    budgeted = PolygonClient(api_key=SANDBOX_API_KEY, base_url=base_url, sandbox=True, limiter=limiter)
    unlimited = PolygonClient(api_key=SANDBOX_API_KEY, base_url=base_url, sandbox=True, limiter=None)
    acquire_only = SharedRateLimiter(redis_client, HUGE_RPM, key=key + ":acquire")

    def raw_session() -> None:
        response = session.get(url, timeout=30)
        response.raise_for_status()
        response.json()

    def client_budgeted() -> None:
        assert budgeted.ticker_details(TICKER) is not None

    def client_unlimited() -> None:
        assert unlimited.ticker_details(TICKER) is not None

    variants: dict[str, Callable[[], object]] = {
        "raw_session": raw_session, "client_shared_budget": client_budgeted,
        "client_no_limiter": client_unlimited, "budget_acquire_only": acquire_only.acquire,
    }
    interleaved(variants, 0.5)  # warm-up: connections, the Lua script, pydantic
    latencies = interleaved(variants, plan.throughput_seconds)
    for closable in (budgeted, unlimited, session):
        closable.close()

    def summary(values: list[float]) -> dict[str, Any]:
        median = statistics.median(values)
        return {"per_second": round(1 / median, 1), "per_second_mean": round(len(values) / sum(values), 1),
                "median_us": round(median * 1e6, 1), "p10_us": round(quantile(values, 0.1) * 1e6, 1),
                "p90_us": round(quantile(values, 0.9) * 1e6, 1), "requests": len(values)}

    def ratios(name: str) -> dict[str, Any]:
        """Baseline median time / the variant's (its req/s ÷ the baseline's), overall and per block."""
        base, mine = latencies["raw_session"], latencies[name]
        size = len(mine) // plan.blocks
        cuts = [slice(i * size, (i + 1) * size) for i in range(plan.blocks)]
        blocks = [statistics.median(base[cut]) / statistics.median(mine[cut]) for cut in cuts]
        return {"median": round(statistics.median(base) / statistics.median(mine), 3),
                "mean": round(sum(base) / sum(mine), 3),
                "blocks": [round(b, 3) for b in blocks]}

    figures = {name: summary(values) for name, values in latencies.items()}
    baseline_us = figures["raw_session"]["median_us"]
    clients = ("client_shared_budget", "client_no_limiter")
    return {
        "endpoint": f"ticker_details({TICKER})", "seconds": plan.throughput_seconds, "variants": figures,
        "ratio_vs_raw_session": {name: ratios(name) for name in clients},
        "added_us_per_request": {name: round(figures[name]["median_us"] - baseline_us, 1)
                                 for name in clients},
    }


# -- 2. spacing -----------------------------------------------------------------------------------
def _spacing(sandbox: SandboxServer, redis_client: redis.Redis, key: str, plan: Plan) -> dict[str, Any]:
    sandbox.reset()
    client = PolygonClient(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url, sandbox=True,
                           limiter=SharedRateLimiter(redis_client, SPACING_RPM, key=key))
    started = time.perf_counter()
    for _ in range(plan.spacing_requests):
        client.ticker_details(TICKER)
    elapsed = time.perf_counter() - started
    client.close()
    arrivals = sorted(r["monotonic"] for r in sandbox.stats()["requests"])
    expected = 60 / SPACING_RPM
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    behind = [t - (arrivals[0] + i * expected) for i, t in enumerate(arrivals)]  # lag behind the slot grid
    return {
        "requests_per_minute": SPACING_RPM, "requests": len(arrivals), "expected_interval_s": expected,
        "mean_interval_s": round(statistics.mean(gaps), 4), "min_interval_s": round(min(gaps), 4),
        "max_interval_s": round(max(gaps), 4), "stdev_interval_s": round(statistics.stdev(gaps), 4),
        "max_behind_schedule_s": round(max(behind), 4), "elapsed_s": round(elapsed, 3),
        "expected_elapsed_s": round(expected * (len(arrivals) - 1), 3),
    }


# -- 3. pagination --------------------------------------------------------------------------------
def _raw_pages(session: requests.Session, url: str, params: dict[str, Any]) -> tuple[int, int]:
    """(items, requests) following next_url the way the client does."""
    items = calls = 0
    next_url: str | None = url
    while next_url:
        response = session.get(next_url, params=params or None, timeout=60)
        response.raise_for_status()
        body = response.json()
        calls += 1
        items += len(body.get("results") or [])
        next_url, params = body.get("next_url"), {}
    return items, calls


def _add_listings(sandbox: SandboxServer) -> int:
    """Synthetic new listings (ZQAA, ZQAB, ...) until LISTED_TARGET tickers are active."""
    active = sum(s.active for s in sandbox.state.securities.values())
    for i in range(max(LISTED_TARGET - active, 0)):
        sandbox.add_ticker(f"ZQ{chr(65 + i // 26)}{chr(65 + i % 26)}")
    return sum(s.active for s in sandbox.state.securities.values())


def compare(sandbox: SandboxServer, repeats: int, raw: Callable[[], tuple[int, int]],
             client_run: Callable[[], tuple[int, int]]) -> dict[str, Any]:
    """Alternate raw and client runs; median wall times, counts checked equal between the two."""
    raw_times, client_times = [], []
    counts: dict[str, set[tuple[int, int]]] = {"raw": set(), "client": set()}
    server_calls: set[int] = set()
    for _ in range(repeats):
        seconds, items, calls = timed(raw)
        raw_times.append(seconds)
        counts["raw"].add((items, calls))
        before = sandbox.stats()["total_requests"]
        seconds, items, calls = timed(client_run)
        client_times.append(seconds)
        counts["client"].add((items, calls))
        server_calls.add(sandbox.stats()["total_requests"] - before)
    if len(counts["raw"]) != 1 or counts["raw"] != counts["client"] or len(server_calls) != 1:
        raise RuntimeError(f"raw and client runs disagree: {counts}, at the server {server_calls}")
    [(items, calls)] = list(counts["client"])
    raw_s, client_s = statistics.median(raw_times), statistics.median(client_times)
    return {
        "items": items, "client_calls": calls, "server_calls": server_calls.pop(), "raw_calls": calls,
        "repeats": repeats, "client_s": round(client_s, 4), "raw_s": round(raw_s, 4),
        "client_s_range": [round(min(client_times), 4), round(max(client_times), 4)],
        "raw_s_range": [round(min(raw_times), 4), round(max(raw_times), 4)],
        "ratio_client_vs_raw": round(client_s / raw_s, 3),
    }


def _pagination(sandbox: SandboxServer, plan: Plan) -> dict[str, Any]:
    active = _add_listings(sandbox)
    base = sandbox.base_url
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {SANDBOX_API_KEY}", "Accept": "application/json"})
    client = PolygonClient(api_key=SANDBOX_API_KEY, base_url=base, sandbox=True, limiter=None)

    def listing_raw() -> tuple[int, int]:
        return _raw_pages(session, f"{base}/v3/reference/tickers",
                          {"market": "stocks", "active": "true", "limit": 1000})

    def listing_client() -> tuple[int, int]:
        client.calls.clear()
        items = sum(1 for _ in client.list_tickers())
        return items, client.calls["tickers"]

    aggs_path = f"/v2/aggs/ticker/{TICKER}/range/1/minute/{MINUTE_START}/{MINUTE_END}"

    def minute_raw() -> tuple[int, int]:
        return _raw_pages(session, base + aggs_path, {"adjusted": "true", "sort": "asc", "limit": 50_000})

    def minute_client() -> tuple[int, int]:
        client.calls.clear()
        bars = rejected = 0
        for page in client.aggregates(TICKER, "minute", MINUTE_START, MINUTE_END):
            bars += len(page.bars)
            rejected += len(page.rejected)
        if rejected:
            raise RuntimeError(f"{rejected} bars rejected by the client")
        return bars, client.calls["aggs"]

    listing_raw(), listing_client()  # warm-up (the ticker list is built per request, nothing cached)
    results = {
        "list_tickers": {"active_tickers": active,
                         **compare(sandbox, plan.listing_repeats, listing_raw, listing_client)},
        "minute_bars_one_year": {"ticker": TICKER, "from": str(MINUTE_START), "to": str(MINUTE_END),
                                 **compare(sandbox, plan.minute_repeats, minute_raw, minute_client)},
    }
    client.close()
    session.close()
    return results


# -- report ---------------------------------------------------------------------------------------
def run(plan: Plan, quick: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tickstock-bench-client-", ignore_cleanup_errors=True) as home:
        os.environ["TICKSTOCK_HOME"] = home  # anything reading settings sees the temporary home too
        os.environ.pop("REDIS_URL", None)
        redis_url = embedded.embedded_redis_url(Path(home))
        if not redis_url.startswith("unix://"):
            raise RuntimeError(f"expected an embedded Redis on a unix socket, got {redis_url}")
        redis_client = redis.Redis.from_url(redis_url)
        try:
            key = f"tickstock:polygon:bench:{os.getpid()}"
            with SandboxServer(SandboxConfig(latency_ms=0, now=SANDBOX_NOW)) as sandbox:
                throughput = _throughput(sandbox.base_url, redis_client, key, plan)
                spacing = _spacing(sandbox, redis_client, key + ":spacing", plan)
                pagination = _pagination(sandbox, plan)
                statuses = sandbox.stats()["status_codes"]
            paid_budget = budget_rounds.measure(redis_client, key + ":paid", plan.paid)
        finally:
            try:
                redis_client.shutdown(nosave=True)  # the embedded server daemonizes: stop the one we started
            except redis.RedisError as exc:
                print(f"warning: could not stop the embedded Redis: {exc}", file=sys.stderr)
    if set(statuses) != {"200"}:
        raise RuntimeError(f"the sandbox answered something other than 200 since the reset: {statuses}")
    return {
        "benchmark": "bench_client", "quick": quick, **machine(), "plan": asdict(plan),
        "redis": "embedded, unix socket, temporary TICKSTOCK_HOME", "sandbox_now": SANDBOX_NOW,
        "throughput": throughput, "spacing": spacing, "pagination": pagination,
        "paid_budget": paid_budget,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter phases, fewer repeats (about 15 s)")
    parser.add_argument("--output", type=Path, help="where to write the JSON (default: benchmarks/results/)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = run(QUICK if args.quick else FULL, args.quick)
    report["total_seconds"] = round(time.perf_counter() - started, 1)
    out = write_results("bench_client", report, args.quick, args.output)
    print(render(report))
    print(f"\n{report['total_seconds']} s in all; written to {out}")
    return report


if __name__ == "__main__":
    main()
