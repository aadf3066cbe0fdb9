"""`tickstock load` as users run it: a subprocess on the test's PostgreSQL and Redis, the session's
sandbox (real clock), a run recorded on the generated Dagster instance, exit status and one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines_tests.cli_helpers import said, tickstock


@pytest.fixture
def env(database_uri: str, redis_url: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url}
    environment.pop("DAGSTER_HOME", None)
    return environment


def _counts(database_uri: str) -> tuple[int, ...]:
    with sa.create_engine(database_uri).connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM ohlcv_daily), "
            "(SELECT count(*) FROM load_requests), (SELECT count(*) FROM coverage_targets)")).one())


def test_load_symbols_loads_and_reports_the_unknown_ticker(env: dict[str, str], database_uri: str) -> None:
    result = tickstock(env, "load", "--symbols", "AAPL,brk.b,NOSUCH1", "--months", "2", "--priority", "high")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded 2 of 3 symbols" in result.stdout and "SANDBOX DATA" in result.stdout
    assert any("NOSUCH1" in line for line in said(result.stderr))
    with sa.create_engine(database_uri).connect() as conn:
        symbols = set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars())
        last = conn.execute(sa.text("SELECT max(date) FROM ohlcv_daily WHERE symbol = 'BRK.B'")).scalar_one()
        priority = conn.execute(sa.text("SELECT priority FROM load_requests")).scalar_one()
    assert symbols == {"AAPL", "BRK.B"} and last == last_completed_session() and priority == "high"

    again = tickstock(env, "load", "--symbols", "AAPL,BRK.B", "--months", "2")
    assert again.returncode == 0 and "0 rows new, 0 changed" in again.stdout


@pytest.mark.parametrize(("args", "reason"), [
    (("--universe", "nope"), "unknown universe 'nope'"),
    (("--symbols", "AAPL;DROP"), "invalid ticker"),
    (("--symbols", "AAPL", "--years", "11"), "years"),
    (("--symbols", "AAPL", "--years", "0"), "years"),
    (("--symbols", "AAPL", "--months", "121"), "months"),
])
def test_bad_input_exits_non_zero_with_one_line_and_writes_nothing(
        env: dict[str, str], database_uri: str, args: tuple[str, ...], reason: str) -> None:
    result = tickstock(env, "load", *args)
    assert result.returncode != 0
    [line] = said(result.stderr)
    assert reason in line and "Traceback" not in result.stderr
    assert _counts(database_uri) == (0, 0, 0, 0)


def test_csv_without_a_symbol_column_and_only_unknown_tickers_write_nothing(
        env: dict[str, str], database_uri: str, tmp_path: Path) -> None:
    bad = tmp_path / "tickers.csv"
    bad.write_text("ticker,name\nAAPL,Apple\n")
    result = tickstock(env, "load", "--symbols-csv", str(bad))
    assert result.returncode != 0 and "symbol" in said(result.stderr)[0]
    unknown = tickstock(env, "load", "--symbols", "NOSUCH1,NOSUCH2")
    assert unknown.returncode == 1 and "none of the 2 requested tickers" in unknown.stderr
    assert _counts(database_uri) == (0, 0, 0, 0)


def test_unreachable_database_is_one_line(env: dict[str, str]) -> None:
    env = {**env, "DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"}
    result = tickstock(env, "load", "--symbols", "AAPL")
    assert result.returncode == 2
    [line] = said(result.stderr)
    assert "database unreachable" in line


def test_csv_with_bom_and_symbol_header_loads(env: dict[str, str], database_uri: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "mine.csv"
    csv_file.write_bytes("\ufeffSymbol,weight\nKO,1\nPEP,2\nKO,3\n".encode())
    result = tickstock(env, "load", "--symbols-csv", str(csv_file), "--months", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    with sa.create_engine(database_uri).connect() as conn:
        loaded = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars())
    assert loaded == {"KO", "PEP"}


def test_a_universe_already_in_cache_entries_loads_by_its_key(env: dict[str, str], database_uri: str) -> None:
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO cache_entries (type, name, key, value) VALUES ('stock_universe', 'market_leaders', "
            "'top_10_stocks', CAST(:v AS jsonb))"),
            {"v": '{"count": 2, "stocks": [{"ticker": "KO", "rank": 1}, {"ticker": "MCD", "rank": 2}]}'})
    result = tickstock(env, "load", "--universe", "top_10_stocks", "--months", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    with sa.create_engine(database_uri).connect() as conn:
        request = conn.execute(sa.text("SELECT source, universe, symbols FROM load_requests")).one()
        loaded = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars())
    assert request == ("universe", "top_10_stocks", ["KO", "MCD"]) and loaded == {"KO", "MCD"}
