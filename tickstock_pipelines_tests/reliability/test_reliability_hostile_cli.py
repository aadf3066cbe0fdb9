"""Hostile input through every input of the CLI, in subprocesses: SQL injection and a million-row CSV are
refused in one line before any call or write."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from tickstock_pipelines_tests.support.cache_fixtures import add_entry, raw_rows
from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.hostile_input import SQL_INJECTION
from tickstock_pipelines_tests.support.hostile_strategies import million_rows
from tickstock_pipelines_tests.support.reliability_helpers import application_counts, cli_env
from tickstock_sandbox import SandboxServer

# --- SQL injection and other hostile input through every input of the CLI (subprocesses) --------------------


@pytest.fixture
def env(database_uri: str, redis_url: str, live_sandbox: SandboxServer) -> dict[str, str]:
    return cli_env(database_uri, redis_url, live_sandbox.base_url)


def _dagster_rows(uri: str) -> tuple[int, int]:
    """Runs and dynamic partitions in the Dagster instance's storage (the test's database, DATABASE_URI);
    0 while Dagster has not created its tables there yet."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            counts = []
            for table in ("runs", "dynamic_partitions"):
                exists = conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"public.{table}"})
                # the table name is one of the two literals above, never input
                counts.append(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                              if exists.scalar_one() else 0)
            return counts[0], counts[1]
    finally:
        engine.dispose()


def _refused_in_one_line(result: subprocess.CompletedProcess[str], what: object) -> str:
    """The command failed, said why in exactly one line (returned), and printed no traceback."""
    assert result.returncode != 0, (what, result.stdout)
    stderr = result.stderr
    assert "Traceback" not in stderr, (what, stderr[-2000:])
    # One line says why: ours ("tickstock: error: …") or argparse's ("tickstock load: error: …").
    reasons = [line for line in stderr.splitlines() if line.startswith("tickstock") and "error" in line]
    assert len(reasons) == 1, (what, stderr[-2000:])
    return reasons[0]


@pytest.mark.slow
def test_a_million_row_csv_whose_last_row_is_bad_is_refused_by_load_before_any_call_or_write(
        env: dict[str, str], live_sandbox: SandboxServer, database_uri: str, tmp_path: Path) -> None:
    path = tmp_path / "million_bad.csv"
    million_rows(path, bad_last=True)
    before, before_rows = application_counts(database_uri), raw_rows(database_uri)
    result = tickstock(env, "load", "--symbols-csv", str(path), timeout=300)
    reason = _refused_in_one_line(result, "million rows, bad last")
    assert result.returncode == 2 and "line 1000002" in reason and "AAPL;DROP" in reason, reason
    assert application_counts(database_uri) == before and raw_rows(database_uri) == before_rows
    assert live_sandbox.stats()["total_requests"] == 0
    assert _dagster_rows(database_uri) == (0, 0)


def _cli_inputs(tmp: Path) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
    cases: list[tuple[str, tuple[str, ...], dict[str, str]]] = []
    for i, payload in enumerate(SQL_INJECTION[:4]):  # every input, the four shapes of payload
        csv_file = tmp / f"inj{i}.csv"
        csv_file.write_text(f"symbol\nAAPL\n{payload.replace(chr(0), '')}\n")
        config = tmp / f"inj{i}.yaml"
        config.write_text(json.dumps({"themes": {"ai": {"display_name": "AI", "tickers": [payload]}}}))
        cases += [
            ("--symbols", ("load", "--symbols", payload), {}),
            ("--universe", ("load", "--universe", payload), {}),
            ("--symbols-csv content", ("load", "--symbols-csv", str(csv_file)), {}),
            ("--symbols-csv path", ("load", "--symbols-csv", str(tmp / payload.replace("/", "_"))), {}),
            ("--years", ("load", "--symbols", "AAPL", "--years", payload), {}),
            ("--months", ("load", "--symbols", "AAPL", "--months", payload), {}),
            ("--timespan", ("load", "--symbols", "AAPL", "--timespan", payload), {}),
            ("--priority", ("load", "--symbols", "AAPL", "--priority", payload), {}),
            ("report --symbols", ("cache", "report", "--symbols", payload), {}),
            ("rebuild --config", ("cache", "rebuild", "--config", str(config)), {}),
            ("TICKSTOCK_CACHE_CONFIG", ("cache", "rebuild"), {"TICKSTOCK_CACHE_CONFIG": str(config)}),
            ("rebuild --environment", ("cache", "rebuild", "--environment", payload), {}),
            ("report --environment", ("cache", "report", "--environment", payload), {}),
        ]
    return [c for c in cases if "\x00" not in " ".join(c[1])]  # argv cannot carry NUL at all


@pytest.mark.slow
def test_sql_injection_through_every_cli_input_is_refused_in_one_line_and_writes_nothing(
        env: dict[str, str], live_sandbox: SandboxServer, database_uri: str, tmp_path: Path) -> None:
    add_entry(database_uri, "app_settings", "ui", "theme", '{"dark": true}')
    before, before_rows = application_counts(database_uri), raw_rows(database_uri)
    cases = _cli_inputs(tmp_path)
    for what, args, extra in cases:
        result = tickstock({**env, **extra}, *args, timeout=120)
        _refused_in_one_line(result, (what, args))
        # Nothing of the DEFAULT cache, the symbols or the bars moved, and every table is still there.
        assert raw_rows(database_uri) == before_rows, (what, args)
        counts = application_counts(database_uri)
        assert counts[:6] == before[:6] and counts[7] == before[7], (what, args)
        # Refused before any call (the API heard nothing) and before any run or partition was created.
        assert live_sandbox.stats()["total_requests"] == 0, (what, args, live_sandbox.stats()["by_endpoint"])
        assert _dagster_rows(database_uri) == (0, 0), (what, args)
    assert len(cases) == 4 * 13
    # The instruments see what they must: a valid load through the same environment calls the API and is
    # a run in the same storage.
    result = tickstock(env, "load", "--symbols", "AAPL", "--months", "1", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert live_sandbox.stats()["total_requests"] > 0 and _dagster_rows(database_uri) == (1, 1)
