"""Shared by the reliability suite and `benchmarks/fault_matrix.py`: what a load leaves in the database,
compared table by table, and every piece of text the database holds (for the secrets test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from tickstock_pipelines_tests.support.fault_scenarios import WORKLOADS, Scenario, Workload

# What a load writes, without the bookkeeping clocks (when a row was written is not what it says).
LOADED_TABLES: dict[str, str] = {
    "symbols": "SELECT symbol, name, type, active, market, locale, primary_exchange, currency_name, cik, "
               "composite_figi, share_class_figi, market_cap, weighted_shares_outstanding, sic_code, "
               "sic_description, sector, industry, list_date, etf_type, issuer, underlying_index, "
               "correlation_reference, aum_millions, expense_ratio, daily_volume_avg, avg_dollar_volume "
               "FROM symbols ORDER BY symbol",
    "ohlcv_daily": "SELECT symbol, date, open, high, low, close, volume, vwap, transactions FROM ohlcv_daily "
                   "ORDER BY symbol, date",
    "ohlcv_minute": 'SELECT symbol, "timestamp", open, high, low, close, volume, vwap, transactions '
                    'FROM ohlcv_minute ORDER BY symbol, "timestamp"',
    "coverage_targets": "SELECT symbol, timespan, start_date, loaded_start, loaded_end FROM coverage_targets "
                        "ORDER BY symbol, timespan",
    "splits": "SELECT symbol, execution_date, split_from, split_to FROM splits ORDER BY 1, 2",
}


def loaded_tables(uri: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row a load wrote, table by table, in a stable order."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return {name: [tuple(r) for r in conn.execute(sa.text(query)).all()]
                    for name, query in LOADED_TABLES.items()}
    finally:
        engine.dispose()


def differences(expected: dict[str, list[tuple[Any, ...]]],
                actual: dict[str, list[tuple[Any, ...]]]) -> dict[str, dict[str, int]]:
    """Per table: rows missing, rows extra (a changed row counts as both); empty when identical."""
    out: dict[str, dict[str, int]] = {}
    for table in expected:
        want, got = set(expected[table]), set(actual.get(table, []))
        if want != got or len(expected[table]) != len(actual.get(table, [])):
            out[table] = {"missing": len(want - got), "extra": len(got - want),
                          "expected_rows": len(expected[table]), "rows": len(actual.get(table, []))}
    return out


def rows_lost(expected: dict[str, list[tuple[Any, ...]]], actual: dict[str, list[tuple[Any, ...]]]) -> int:
    return sum(len(set(rows) - set(actual.get(table, []))) for table, rows in expected.items())


def count(uri: str, query: str, params: dict[str, Any] | None = None) -> Any:
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query), params or {}).scalar_one()
    finally:
        engine.dispose()


def application_counts(uri: str) -> tuple[int, ...]:
    """Rows in every application table: "nothing was written" means this did not move."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(
                "SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM ohlcv_daily), "
                "(SELECT count(*) FROM ohlcv_minute), (SELECT count(*) FROM load_requests), "
                "(SELECT count(*) FROM coverage_targets), (SELECT count(*) FROM splits), "
                "(SELECT count(*) FROM cache_entries), (SELECT count(*) FROM missed_notifications)")).one())
    finally:
        engine.dispose()


def all_text(uri: str) -> dict[str, str]:
    """Every row of every table in every schema of the database, as text: table name → rows."""
    engine = sa.create_engine(uri)
    out: dict[str, str] = {}
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
                "FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                "AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )).scalars().all()
            for table in tables:
                # The name comes from the catalogue just read, never from input.
                rows = conn.execute(sa.text(f"SELECT t::text FROM {table} AS t")).scalars().all()  # noqa: S608
                out[table] = "\n".join(rows)
    finally:
        engine.dispose()
    return out


def cli_env(database_uri: str, redis_url: str, base_url: str) -> dict[str, str]:
    """`tickstock`'s environment in a test: the test's database, Redis and API root; none of the
    developer's instance, key or cache config (DAGSTER_HOME is generated under TICKSTOCK_HOME)."""
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
                   "POLYGON_BASE_URL": base_url}
    for name in ("DAGSTER_HOME", "POLYGON_API_KEY", "TICKSTOCK_CACHE_CONFIG"):
        environment.pop(name, None)
    return environment


def start_tickstock(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`tickstock …` as a subprocess in its own process group (so a SIGKILL takes nothing else with it)."""
    return subprocess.Popen([sys.executable, "-m", "tickstock_pipelines.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_until(process: subprocess.Popen[str], ready: Callable[[], bool], *, timeout: float = 120.0,
               poll: float = 0.05) -> bool:
    """True as soon as `ready()` holds while `process` still runs; False if it ended (or timed out) first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if ready():
                return True
        except sa.exc.DBAPIError:  # e.g. the runs table before Dagster created it
            pass
        time.sleep(poll)
    return False


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], *, timeout: float = 120.0,
              poll: float = 0.05) -> bool:
    """SIGKILL `process` as soon as `ready()` holds; False if it ended (or timed out) before that."""
    if wait_until(process, ready, timeout=timeout, poll=poll):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        return True
    if process.poll() is not None:
        return False
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return False


# --- the fault matrix: one workload, faults injected at the sandbox, a real load_job run --------------------


def run_load_in_process(instance: Any, resources: dict[str, Any], workload: Workload) -> Any:
    """What `tickstock load` does: partitions first, then one load_job run over their range, in process."""
    from dagster import AssetKey, Definitions

    from tickstock_pipelines.assets.market_data import market_data_defs
    from tickstock_pipelines.orchestration.launch import partitions_of, plan_launch
    from tickstock_pipelines_tests.support.market_data_runs import cli_window

    present = instance.get_dynamic_partitions(partitions_of(workload.selection))
    config, tags = cli_window(workload.config)  # years/months: the run's tag, as `tickstock load` sets it
    launch = plan_launch(workload.keys, present=present,
                         selection=workload.selection, command="load",
                         run_config={"ops": {"symbols": {"config": config}}}, tags=tags)
    launch.add_partitions(instance)
    job = Definitions.merge(market_data_defs, Definitions(resources=resources)).resolve_job_def(launch.job)
    return job.execute_in_process(
        instance=instance, run_config=launch.run_config,
        asset_selection=[AssetKey(s) for s in launch.selection],
        tags=launch.tags, raise_on_error=False)


def failure_messages(result: Any) -> list[str]:
    """Each failed step's error with its causes (the wrapper says only which op failed)."""
    out = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error, parts = getattr(event.event_specific_data, "error", None), []
        while error is not None:
            parts.append(error.message.strip())
            error = error.cause
        out.append(" <- ".join(parts) or str(event.message))
    return out


def symbols_metadata(result: Any) -> dict[str, Any]:
    from dagster import AssetKey

    for event in result.get_asset_materialization_events():
        if event.asset_key == AssetKey("symbols"):
            return {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}
    return {}


def load_resources(database_uri: str, redis_url: str, base_url: str, **polygon: Any) -> dict[str, Any]:
    from tickstock_pipelines.resources.database import DatabaseResource
    from tickstock_pipelines.resources.polygon import PolygonResource
    from tickstock_pipelines.resources.redis import RedisResource

    options = {"backoff_seconds": 0.01, "max_retries": 5, **polygon}
    return {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
            "polygon": PolygonResource(base_url=base_url, redis_url=redis_url, **options)}


def clean_tables(workload: Workload, database_uri: str, redis_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """The reference: the same load against a sandbox without faults."""
    from dagster import instance_for_test

    from tickstock_sandbox import SandboxConfig, SandboxServer

    with SandboxServer(SandboxConfig()) as server, instance_for_test() as instance:
        result = run_load_in_process(instance, load_resources(database_uri, redis_url, server.base_url),
                                     workload)
        if not result.success:
            raise AssertionError(f"the clean {workload.name} load failed: {failure_messages(result)}")
    return loaded_tables(database_uri)


@dataclass
class Outcome:
    scenario: str
    workload: str
    faults_injected: dict[str, int]
    requests: int
    first_run_succeeded: bool
    first_run_complete: bool  # succeeded and identical to the clean run
    runs_to_complete: int  # 1, 2, or 0 when it never completed
    failure: list[str]
    failed_tickers: list[str]
    failed_checks: dict[str, dict[str, Any]]  # "asset:check" → metadata of checks failed in the first run
    first_run_missing_symbols: list[str]  # symbols of the clean run the first run did not store
    rows_lost: int  # rows of the clean run missing after the last run
    rows_extra: int  # rows the clean run does not have (duplicates cannot exist: primary keys)
    differences: dict[str, dict[str, int]]
    seconds: float
    requests_log: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def summary(self) -> dict[str, Any]:
        out = dict(vars(self))
        out.pop("requests_log")
        return out


def failed_checks(result: Any) -> dict[str, dict[str, Any]]:
    """The asset checks that evaluated as failed in a run, with their metadata, from its events."""
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": {k: v.value for k, v in e.metadata.items()}
            for e in result.get_asset_check_evaluations() if not e.passed}


def run_scenario(scenario: Scenario, database_uri: str, redis_url: str,
                 clean: dict[str, list[tuple[Any, ...]]]) -> Outcome:
    """Run the workload with the faults; when the first run is not complete, run it again without them."""
    from dagster import instance_for_test

    from tickstock_sandbox import SandboxConfig, SandboxServer

    workload = WORKLOADS[scenario.workload]
    started = time.monotonic()
    with SandboxServer(SandboxConfig(**scenario.sandbox)) as server, instance_for_test() as instance:
        for rule in scenario.faults:
            server.inject(**rule)
        resources = load_resources(database_uri, redis_url, server.base_url, **scenario.polygon)
        first = run_load_in_process(instance, resources, workload)
        stats = server.stats()
        after_first = loaded_tables(database_uri)
        complete = first.success and not differences(clean, after_first)
        runs = 1 if complete else 0
        final = after_first
        if not complete:
            server.configure(faults=[])
            again = run_load_in_process(instance, resources, workload)
            final = loaded_tables(database_uri)
            runs = 2 if again.success and not differences(clean, final) else 0
        diff = differences(clean, final)
        return Outcome(
            scenario=scenario.name, workload=workload.name, faults_injected=dict(stats["faults_injected"]),
            requests=stats["total_requests"], first_run_succeeded=first.success, first_run_complete=complete,
            runs_to_complete=runs, failure=failure_messages(first),
            failed_tickers=list(symbols_metadata(first).get("failed_tickers") or []),
            failed_checks=failed_checks(first),
            first_run_missing_symbols=sorted({r[0] for r in clean["symbols"]}
                                             - {r[0] for r in after_first["symbols"]}),
            rows_lost=rows_lost(clean, final), rows_extra=sum(d["extra"] for d in diff.values()),
            differences=diff, seconds=round(time.monotonic() - started, 2), requests_log=stats["requests"])
