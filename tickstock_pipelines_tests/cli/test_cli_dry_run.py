"""`tickstock load --dry-run` as users run it, against a sandbox of the test's own (its request log counts
every call): it makes no details or bar call, writes nothing (every table's row count and contents,
Dagster's runs, events and dynamic partitions included, as the instance lives in the same database),
and its calls by endpoint are the calls the real load of the same request then makes; the `symbols`
materialization carries the same plan. A load that meets a delisted ticker names it, with its
delisting date."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from dagster import AssetKey, DagsterInstance

from tickstock_pipelines.loading.requests import index_universe
from tickstock_pipelines_tests.support.cli_helpers import said, stray_lines, tickstock
from tickstock_sandbox import SandboxConfig, SandboxServer

# the plan's rows (loading/load_plan.py ENDPOINTS) and the sandbox route each one calls
ROUTES = {"ticker list": "/v3/reference/tickers", "ticker details": "/v3/reference/tickers/{ticker}",
          "splits": "/v3/reference/splits",
          "grouped daily": "/v2/aggs/grouped/locale/us/market/stocks/{date}",
          "aggregates": "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}"}
BAR_ROUTES = (ROUTES["grouped daily"], ROUTES["aggregates"])
PLAN_ROW = re.compile(r"^  (\S.*?)\s{2,}(\d+)\s")


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxConfig(delisted_details_404=True)) as server:  # real clock, as `tickstock`
        yield server


@pytest.fixture
def env(database_uri: str, redis_url: str, sandbox: SandboxServer) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url,
                   "POLYGON_BASE_URL": sandbox.base_url, "POLYGON_REQUESTS_PER_MINUTE": "300"}
    environment.pop("DAGSTER_HOME", None)
    return environment


def _row_counts(database_uri: str) -> dict[str, tuple[int, str]]:
    """Rows of every table in the database, and a digest of their contents (an update shows too): the
    application's and Dagster's (runs, event log, dynamic partitions), which `tickstock` keeps in the
    same database when DATABASE_URI is set."""
    with sa.create_engine(database_uri).connect() as conn:
        tables = conn.execute(sa.text(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) "
            "  FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )).scalars().all()
        digest = "SELECT count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {} x"
        return {t: tuple(conn.execute(sa.text(digest.format(t))).one()) for t in tables}


def _calls(sandbox: SandboxServer) -> Counter[str]:
    return Counter(sandbox.stats()["by_endpoint"])


def _plan(stdout: str) -> dict[str, int]:
    """{row: calls} of the printed plan; completeness fetches are aggregates calls too."""
    rows = {m.group(1): int(m.group(2)) for line in stdout.splitlines() if (m := PLAN_ROW.match(line))}
    assert set(rows) >= {*ROUTES, "per-symbol completeness fetches", "total"}, stdout
    return rows


def _expected(plan: dict[str, int]) -> Counter[str]:
    calls = Counter({route: plan[row] for row, route in ROUTES.items()})
    calls[ROUTES["aggregates"]] += plan["per-symbol completeness fetches"]
    return +calls


def _dry_run_then_load(env: dict[str, str], database_uri: str, sandbox: SandboxServer,
                       *request: str) -> tuple[dict[str, int], str]:
    """The dry run's plan, checked to have made no details or bar call and written nothing, and that the
    real load then makes exactly its calls; returns the plan and what the dry run printed."""
    rows, before = _row_counts(database_uri), _calls(sandbox)
    dry = tickstock(env, "load", *request, "--dry-run")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert stray_lines(dry.stderr) == [] and said(dry.stderr) == []
    plan = _plan(dry.stdout)
    spent = _calls(sandbox) - before
    assert not any(spent[route] for route in (ROUTES["ticker details"], *BAR_ROUTES)), spent
    assert _row_counts(database_uri) == rows
    before = _calls(sandbox)
    load = tickstock(env, "load", *request)
    assert load.returncode == 0, load.stderr[-3000:]
    assert _calls(sandbox) - before == _expected(plan), dry.stdout
    return plan, dry.stdout


def _symbols_metadata(database_uri: str, tmp_path: Path) -> dict[str, object]:
    """The latest `symbols` materialization's metadata, read from the instance `tickstock` used."""
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump({"storage": {"postgres": {
        "postgres_url": database_uri}}}))
    with DagsterInstance.from_config(str(tmp_path)) as instance:
        event = instance.get_latest_materialization_event(AssetKey("symbols"))
    assert event is not None and event.asset_materialization is not None
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


def test_dow30_for_a_month_plans_grouped_daily_calls_nothing_and_the_load_makes_the_planned_calls(
        env: dict[str, str], database_uri: str, sandbox: SandboxServer, tmp_path: Path) -> None:
    tickstock(env, "load", "--symbols", "AAPL", "--months", "1")  # something stored, to be left as it is
    request = ("--universe", "dow30", "--months", "1")
    plan, _ = _dry_run_then_load(env, database_uri, sandbox, *request)
    assert plan["ticker details"] == 29 and plan["splits"] == 1 and plan["aggregates"] == 0
    assert 19 <= plan["grouped daily"] <= 23 and plan["ticker list"] == 0
    assert plan["total"] == sum(v for k, v in plan.items() if k != "total")
    meta = _symbols_metadata(database_uri, tmp_path)
    assert {k: v for k, v in meta["plan_calls"].items() if v} == {  # type: ignore[union-attr]
        "details": 29, "splits": 1, "grouped_daily": plan["grouped daily"], "total": plan["total"]}
    assert "| ticker details |" in str(meta["plan"]) and meta["plan_new_symbols"] == 29
    assert meta["plan_budget_per_minute"] == 300.0

    again, _ = _dry_run_then_load(env, database_uri, sandbox, *request)  # everything known and fresh
    assert again["total"] == again["splits"] == 1


def test_several_universes_are_one_load_whose_grouped_daily_calls_serve_stocks_and_etfs_at_once(
        env: dict[str, str], database_uri: str, sandbox: SandboxServer) -> None:
    """`--universe dow30,all_etfs`: one run, one grouped-daily call per session for both; the ETF list is
    asked by the dry run, the CLI and the run (its rows need no details call), and the plan says so."""
    etfs = {t for t, s in sandbox.state.securities.items() if s.type == "ETF" and s.active}
    plan, said_plan = _dry_run_then_load(env, database_uri, sandbox, "--universe", "dow30,all_etfs",
                                         "--months", "1")
    assert plan["ticker details"] == 30 and plan["ticker list"] == 2 and plan["aggregates"] == 0
    assert 19 <= plan["grouped daily"] <= 23, said_plan
    assert "once more in its run: ETF rows come from the list" in said_plan
    with sa.create_engine(database_uri).connect() as conn:
        stored = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars())
        runs = conn.execute(sa.text("SELECT universe, run_id FROM load_requests")).all()
    assert stored == etfs | set(index_universe("dow30") or ())
    assert [universe for universe, _ in runs] == ["dow30,all_etfs"]


def test_per_ticker_plan_counts_known_and_new_symbols_and_the_load_makes_its_calls(
        env: dict[str, str], database_uri: str, sandbox: SandboxServer) -> None:
    assert tickstock(env, "load", "--symbols", "AAPL", "--months", "1").returncode == 0
    request = ("--symbols", "AAPL,MSFT,KO", "--years", "2")
    plan, said_plan = _dry_run_then_load(env, database_uri, sandbox, *request)
    assert "3 requested: 2 new (MSFT, KO), 1 known (AAPL)" in said_plan, said_plan
    assert "at 300 requests a minute" in said_plan
    # AAPL is owed the history before its month, MSFT and KO all of it: one aggregates call each
    assert (plan["ticker details"], plan["aggregates"], plan["grouped daily"]) == (2, 3, 0)


def test_a_load_names_the_delisted_tickers_it_stored_with_their_delisting_date(
        env: dict[str, str], sandbox: SandboxServer) -> None:
    result = tickstock(env, "load", "--symbols", "AAPL,PARA,HOLX", "--months", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded 3 of 3 symbols" in result.stdout
    [line] = [line for line in result.stdout.splitlines() if "delisted" in line]
    dates = {t: sandbox.state.securities[t].delisted for t in ("HOLX", "PARA")}
    assert line == ("tickstock: delisted, stored inactive with their bars up to their last session: "
                    f"HOLX (delisted {dates['HOLX']}), PARA (delisted {dates['PARA']})")


def test_a_minute_load_is_planned_as_the_minute_run_makes_it(
        env: dict[str, str], database_uri: str, sandbox: SandboxServer) -> None:
    plan, _ = _dry_run_then_load(env, database_uri, sandbox, "--symbols", "AAPL,MSFT", "--months", "1",
                                 "--timespan", "minute")
    # a month of minute bars is one page a symbol; the minute run does not look for splits
    assert (plan["ticker details"], plan["aggregates"], plan["splits"], plan["grouped daily"]) == (2, 2, 0, 0)
