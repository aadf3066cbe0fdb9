"""The whole market from empty (issue 12): every listed stock and ETF, 5 years of daily bars, through
`tickstock load` against the sandbox at 100 ms of added latency and a paid plan's 6,000 requests a minute.

The sandbox (its own process) lists the shipped universe plus synthetic listings (`ZQS…` stocks, `ZQE…`
ETFs; SandboxConfig.synthetic_stocks/_etfs) up to about 6,000 common stocks and 4,000 ETFs at --scale 1.
Measured, each `tickstock` command a process of its own on a throwaway TICKSTOCK_HOME (embedded
PostgreSQL and Redis):
1. `tickstock load --universe all_stocks,all_etfs --years Y`: the whole market in one load (a grouped-daily
   answer serves stocks and ETFs at once): calls by endpoint (what the sandbox received meanwhile), wall
   time, peak RSS of the loading process.
2. The weekly refresh a week later: 500 loaded symbols lack their last 5 sessions (deleted, coverage set
   back), `tickstock load --symbols <the 500> --years Y` (goal ≤ 6 calls, as in bench_loading).
3. The per-ticker baseline in the same run: the same loader with grouped daily off (details for the stocks,
   one aggregates call per symbol, 4 in flight, the same budget) on an even sample of the symbols, in its
   own process, extrapolated linearly to every symbol (said so in the output and the JSON).
Goals: at most 1,300 bar calls for the whole market, the whole load (details included) under 5 minutes,
peak RSS under 1 GB. "At 5/min" is calls × 12 s, the free plan's pace.

Run: `python benchmarks/bench_market.py [--scale S] [--years Y]` (--scale 0.1 --years 1: a few minutes;
the full size 5-6 minutes on a 2-CPU machine). Writes benchmarks/results/bench_market.json
(bench_market_scale<S>.json below scale 1, or --output).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import redis
import sqlalchemy as sa
from bench_cache_rebuild import embedded_server
from bench_results import machine, write_results
from market_runs import Sandbox, baseline_child, load_env, measure, sandbox_child, tickstock

from tickstock_pipelines import embedded
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.loading.requests import history_start, index_universe
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_sandbox.universe import reference_universe

STOCKS, ETFS = 6_000, 4_000
PAID_PLAN_PER_MINUTE, FREE_PLAN_PER_MINUTE, LATENCY_MS = 6_000, 5, 100.0
BAR_CALLS_GOAL, WALL_GOAL_S, RSS_GOAL_MB, WEEKLY_CALLS_GOAL = 1_300, 300.0, 1_024.0, 6
WEEK_SESSIONS, WEEKLY_SYMBOLS = 5, 500
BAR_ENDPOINTS = ("aggs", "grouped_daily")
MARKET = "all_stocks,all_etfs"  # one load: each grouped-daily answer serves stocks and ETFs at once
_NAMES = {"/v3/reference/tickers": "tickers", "/v3/reference/tickers/{ticker}": "ticker_details",
          "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}": "aggs",
          "/v2/aggs/grouped/locale/us/market/stocks/{date}": "grouped_daily",
          "/v3/reference/splits": "splits"}


def _named(by_endpoint: dict[str, int]) -> dict[str, int]:
    return {_NAMES.get(k, k): v for k, v in by_endpoint.items()}


def _shipped(kind: str) -> int:
    return sum(1 for s in reference_universe().values() if s.type == kind and s.active)


def _figures(run: Any) -> dict[str, Any]:
    by = _named(run.extra["by_endpoint"])
    return {"calls": run.extra["calls"], "by_endpoint": by,
            "bar_calls": sum(by.get(e, 0) for e in BAR_ENDPOINTS), "wall_s": run.wall_s,
            "peak_rss_mb": run.peak_rss_mb,
            "free_plan_hours": round(run.extra["calls"] / FREE_PLAN_PER_MINUTE / 60, 2),
            "summary": (run.stdout.strip().splitlines() or [""])[-1]}


def _a_week_later(uri: str, symbols: list[str], end: date) -> date:
    """As if `symbols` had been loaded a week ago: their last 5 sessions gone, their coverage set back."""
    cutoff = sessions_between(end - timedelta(days=20), end)[-1 - WEEK_SESSIONS].astype(object)
    with get_engine(uri).begin() as conn:
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE date > :c AND symbol = ANY(:s)"),
                     {"c": cutoff, "s": symbols})
        conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = :c WHERE timespan = 'day' "
                             "AND loaded_end > :c AND symbol = ANY(:s)"), {"c": cutoff, "s": symbols})
    return cutoff


def _baseline(home: Path, sandbox: Sandbox, listed: dict[str, list[str]], sample: int, years: float,
              env: dict[str, str]) -> dict[str, Any]:
    """The per-ticker loader on an even sample of stocks and ETFs, extrapolated to all of them."""
    total = sum(len(v) for v in listed.values())
    counts = {k: min(len(v), max(1, round(sample * len(v) / total))) for k, v in listed.items()}
    picked = {k: [v[i * len(v) // counts[k]] for i in range(counts[k])] for k, v in listed.items()}
    end = last_completed_session()
    uri = embedded.embedded_postgres_uri(home, "baseline")
    upgrade(uri)
    spec = {"uri": uri, "home": str(home), "url": sandbox.url, "budget": PAID_PLAN_PER_MINUTE,
            "first": history_start(end, years=years).isoformat(), "last": end.isoformat(),
            "stocks": picked["stocks"], "etfs": picked["etfs"]}
    run = measure([sys.executable, __file__, "--baseline-child", json.dumps(spec)], env, home)
    if run.returncode:
        raise RuntimeError(f"baseline child failed:\n{run.stderr[-3000:]}")
    got = json.loads(run.stdout.strip().splitlines()[-1])
    n = len(picked["stocks"]) + len(picked["etfs"])
    per_stock = got["by_endpoint"].get("ticker_details", 0) / max(len(picked["stocks"]), 1)
    list_calls = sum(-(-len(v) // 1000) for v in listed.values())  # the listed universes' pages
    aggs = got["by_endpoint"].get("aggs", 0)
    calls = round(per_stock * len(listed["stocks"]) + aggs * total / n + list_calls)
    return {"sample_symbols": n, "sample_stocks": len(picked["stocks"]), "sample_etfs": len(picked["etfs"]),
            "sample": {**got, "peak_rss_mb": run.peak_rss_mb}, "extrapolated_to": total,
            "extrapolated": True, "calls": calls,
            "bar_calls": round(aggs * total / n),
            "wall_s": round(got["wall_s"] * total / n, 1),
            "free_plan_hours": round(calls / FREE_PLAN_PER_MINUTE / 60, 2),
            "how": "sample wall and calls × symbols ÷ sample symbols (plus one list call per 1,000 listed)"}


def run(scale: float, years: float, latency_ms: float, sample: int) -> dict[str, Any]:
    stocks = max(0, round(STOCKS * scale) - _shipped("CS"))
    etfs = max(0, round(ETFS * scale) - _shipped("ETF"))
    out: dict[str, Any] = {"scale": scale, "years": years, "latency_ms": latency_ms,
                           "budget_per_minute": PAID_PLAN_PER_MINUTE, "synthetic_stocks": stocks,
                           "synthetic_etfs": etfs}
    with embedded_server() as home:
        sandbox = Sandbox({"latency_ms": latency_ms, "synthetic_stocks": stocks, "synthetic_etfs": etfs},
                          home)
        try:
            uri = embedded.embedded_postgres_uri(home, "market")
            upgrade(uri)
            env = load_env(home, uri, sandbox.url, PAID_PLAN_PER_MINUTE)
            print(f"tickstock load --universe {MARKET} --years {years:g} …", flush=True)
            command = ["load", "--universe", MARKET, "--years", f"{years:g}"]
            out["loads"] = {MARKET: _figures(tickstock(command, env, home, sandbox))}
            with get_engine(uri).connect() as conn:
                listed = {kind: list(conn.execute(sa.text(
                    "SELECT symbol FROM symbols WHERE active AND type = :t ORDER BY symbol"),
                    {"t": t}).scalars()) for kind, t in (("stocks", "CS"), ("etfs", "ETF"))}
                stored = conn.execute(sa.text("SELECT count(*), count(DISTINCT symbol), min(date), max(date) "
                                              "FROM ohlcv_daily")).one()
            out["stored"] = {"rows": stored[0], "symbols": stored[1], "first": str(stored[2]),
                             "last": str(stored[3]), "stocks": len(listed["stocks"]),
                             "etfs": len(listed["etfs"])}
            known = set(listed["stocks"])
            weekly = [s for s in (index_universe("sp500") or ()) if s in known][:WEEKLY_SYMBOLS]
            end = last_completed_session()
            cutoff = _a_week_later(uri, weekly, end)
            print(f"weekly refresh of {len(weekly)} symbols …", flush=True)
            out["weekly"] = {"symbols": len(weekly), "sessions_missing": WEEK_SESSIONS, "cutoff": str(cutoff),
                             **_figures(tickstock(["load", "--symbols", ",".join(weekly), "--years",
                                                   f"{years:g}"], env, home, sandbox))}
            print(f"per-ticker baseline on a sample of about {sample} …", flush=True)
            out["baseline"] = _baseline(home, sandbox, listed, sample, years, env)
        finally:
            sandbox.close()
            _stop_redis(home)
    return _judge(out)


def _stop_redis(home: Path) -> None:
    """The embedded Redis the `tickstock` processes started daemonizes: stop it with its home."""
    if (home / "redis").exists():
        try:
            redis.Redis.from_url(embedded.embedded_redis_url(home)).shutdown(nosave=True)
        except redis.RedisError as exc:
            print(f"warning: could not stop the embedded Redis: {exc}", file=sys.stderr)


def _judge(out: dict[str, Any]) -> dict[str, Any]:
    loads = out["loads"].values()
    whole = {"calls": sum(r["calls"] for r in loads), "bar_calls": sum(r["bar_calls"] for r in loads),
             "wall_s": round(sum(r["wall_s"] for r in loads), 1),
             "peak_rss_mb": max(r["peak_rss_mb"] or 0 for r in loads)}
    whole["free_plan_hours"] = round(whole["calls"] / FREE_PLAN_PER_MINUTE / 60, 2)
    base = out["baseline"]
    whole["ratio_calls_baseline_vs_ours"] = round(base["calls"] / max(whole["calls"], 1), 2)
    whole["ratio_wall_baseline_vs_ours"] = round(base["wall_s"] / max(whole["wall_s"], 0.01), 2)
    out["whole_market"] = whole
    out["goals"] = {"bar_calls": BAR_CALLS_GOAL, "wall_s": WALL_GOAL_S, "peak_rss_mb": RSS_GOAL_MB,
                    "weekly_calls": WEEKLY_CALLS_GOAL,
                    "bar_calls_met": whole["bar_calls"] <= BAR_CALLS_GOAL,
                    "wall_met": whole["wall_s"] <= WALL_GOAL_S,
                    "rss_met": whole["peak_rss_mb"] <= RSS_GOAL_MB,
                    "weekly_met": out["weekly"]["calls"] <= WEEKLY_CALLS_GOAL}
    return out


def _print(r: dict[str, Any]) -> None:
    s = r["stored"]
    print(f"\nWhole market, {r['years']:g} years of daily bars, scale {r['scale']:g}: {s['stocks']:,} "
          f"stocks + {s['etfs']:,} ETFs listed; stored {s['rows']:,} bars of {s['symbols']:,} symbols, "
          f"{s['first']}.."
          f"{s['last']}; sandbox +{r['latency_ms']:g} ms a request, budget {r['budget_per_minute']:,}/min")
    print(f"  {'run':38}{'calls':>7}{'bar calls':>10}{'wall s':>9}{'peak RSS MB':>12}{'at 5/min':>10}  "
          "by endpoint")
    rows = [(f"load --universe {u}", f) for u, f in r["loads"].items()]
    rows += [("whole market", r["whole_market"])] if len(r["loads"]) > 1 else []
    rows += [(f"weekly refresh, {r['weekly']['symbols']} × +{WEEK_SESSIONS} sessions", r["weekly"])]
    b = r["baseline"]
    rows.append((f"per-ticker baseline (×{b['extrapolated_to'] / b['sample_symbols']:.1f} of "
                 f"{b['sample_symbols']})", {**b, "peak_rss_mb": b["sample"]["peak_rss_mb"],
                                            "by_endpoint": b["sample"]["by_endpoint"]}))
    for label, f in rows:
        by = ", ".join(f"{k} {v}" for k, v in f.get("by_endpoint", {}).items())
        print(f"  {label:38}{f['calls']:>7,}{f['bar_calls']:>10,}{f['wall_s']:>9}{f['peak_rss_mb'] or 0:>12}"
              f"{f['free_plan_hours']:>9} h  {by}")
    w = r["whole_market"]
    print(f"  baseline ÷ ours: calls {w['ratio_calls_baseline_vs_ours']}×, "
          f"wall {w['ratio_wall_baseline_vs_ours']}× "
          f"(baseline extrapolated from a sample of {b['sample_symbols']}: {b['how']}; its sample's "
          f"peak RSS {b['sample']['peak_rss_mb']} MB)")
    g = r["goals"]
    print("  goals: " + "; ".join(f"{name} {'met' if g[key] else 'NOT met'}" for name, key in (
        (f"≤ {BAR_CALLS_GOAL:,} bar calls", "bar_calls_met"), (f"≤ {WALL_GOAL_S:g} s", "wall_met"),
        (f"peak RSS ≤ {RSS_GOAL_MB:g} MB", "rss_met"),
        (f"weekly ≤ {WEEKLY_CALLS_GOAL} calls", "weekly_met"))))


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0,
                        help="share of 6,000 stocks + 4,000 ETFs (default 1)")
    parser.add_argument("--years", type=float, default=5.0, help="years of daily bars (default 5)")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="added to every sandbox request")
    parser.add_argument("--baseline-sample", type=int, default=300, help="symbols the baseline loads")
    parser.add_argument("--output", type=Path, help="where the JSON goes")
    parser.add_argument("--sandbox-child", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sandbox_child:
        sandbox_child(json.loads(args.sandbox_child))
        return {}
    if args.baseline_child:
        print(json.dumps(baseline_child(json.loads(args.baseline_child))))
        return {}
    started = time.perf_counter()
    results = {"benchmark": "bench_market", **machine(), **run(args.scale, args.years, args.latency_ms,
                                                              args.baseline_sample)}
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    name = "bench_market" if args.scale >= 1 else f"bench_market_scale{args.scale:g}"
    out = write_results(name, results, output=args.output)
    _print(results)
    print(f"\nwritten to {out} ({results['wall_seconds']} s)")
    return results


if __name__ == "__main__":
    main()
