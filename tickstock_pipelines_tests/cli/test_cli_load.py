"""`tickstock load` as users run it: a subprocess on the test's PostgreSQL and Redis, the session's
sandbox (real clock), a run recorded on the generated Dagster instance, exit status and one-line errors.
Each run's outcome reaches admin_notifications once, with no daemon running."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines_tests.support.cli_helpers import said, stray_lines, tickstock
from tickstock_pipelines_tests.support.redis_helpers import heard
from tickstock_sandbox import SandboxConfig, SandboxServer

CANARY = "cAnArY-load-outcome-4e1d"


@pytest.fixture
def env(database_uri: str, redis_url: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url}
    environment.pop("DAGSTER_HOME", None)
    return environment


@pytest.fixture
def admin(redis_client: Any) -> Iterator[Any]:
    """A subscriber to admin_notifications, subscribed before the command starts."""
    pubsub = redis_client.pubsub()
    pubsub.subscribe("admin_notifications")
    pubsub.get_message(timeout=1)  # the subscribe confirmation
    yield pubsub
    pubsub.close()




def _about(messages: list[dict[str, Any]], run_id: str) -> list[dict[str, Any]]:
    # The shared instance may hold a dead run of another test that this command reaped: count ours only.
    return [m for m in messages if m.get("run_id") == run_id]


def _run_id(text: str) -> str:
    """The run id the CLI printed: `… (run ID)` on an error line, `…; run ID` in the summary."""
    if "(run " in text:
        return text.rsplit("(run ", 1)[1].split(")")[0]
    return text.rsplit("; run ", 1)[1].split()[0]


def _counts(database_uri: str) -> tuple[int, ...]:
    with sa.create_engine(database_uri).connect() as conn:
        return tuple(conn.execute(sa.text(
            "SELECT (SELECT count(*) FROM symbols), (SELECT count(*) FROM ohlcv_daily), "
            "(SELECT count(*) FROM load_requests), (SELECT count(*) FROM coverage_targets)")).one())


def test_load_symbols_loads_and_reports_the_unknown_ticker(env: dict[str, str], database_uri: str,
                                                           admin: Any) -> None:
    result = tickstock(env, "load", "--symbols", "AAPL,brk.b,NOSUCH1", "--months", "2", "--priority", "high")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded 2 of 3 symbols" in result.stdout and "SANDBOX DATA" in result.stdout
    assert said(result.stderr) == ["tickstock: warning: unknown to Polygon, skipped: NOSUCH1"]
    assert stray_lines(result.stderr) == []
    # One success message for this run, with the CLI's summary (no daemon is running).
    run_id = _run_id(result.stdout)
    [message] = _about(heard(admin), run_id)
    assert message["event"] == "load_completed" and message["status"] == "success" and "error" not in message
    assert message["summary"] in result.stdout and message["summary"].startswith("loaded 2 of 3 symbols")
    assert message["symbols"] == {"requested": 3, "loaded": 2, "unknown": ["NOSUCH1"], "failed": {}}
    assert message["request"]["priority"] == "high" and message["bars"]["rows_inserted"] > 0
    with sa.create_engine(database_uri).connect() as conn:
        symbols = set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars())
        last = conn.execute(sa.text("SELECT max(date) FROM ohlcv_daily WHERE symbol = 'BRK.B'")).scalar_one()
        priority = conn.execute(sa.text("SELECT priority FROM load_requests")).scalar_one()
    assert symbols == {"AAPL", "BRK.B"} and last == last_completed_session() and priority == "high"

    again = tickstock(env, "load", "--symbols", "AAPL,BRK.B", "--months", "2")
    assert again.returncode == 0 and "0 rows new, 0 changed" in again.stdout


@pytest.mark.parametrize(("args", "reason"), [
    (("--universe", "nope"), "unknown universe 'nope'"),
    (("--universe", "dow30,nope"), "unknown universe 'nope'"),
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
    assert unknown.returncode == 1
    [error] = said(unknown.stderr)
    assert "none of the 2 requested tickers is known to Polygon: NOSUCH1, NOSUCH2" in error
    assert stray_lines(unknown.stderr) == []  # no stack trace, no Dagster failure event: one error line
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


@pytest.fixture
def faulty_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of the test's own (real clock) into which faults are injected."""
    with SandboxServer(SandboxConfig()) as server:
        yield server


def _stored(database_uri: str) -> tuple[set[str], set[str]]:
    with sa.create_engine(database_uri).connect() as conn:
        return (set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars()),
                set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars()))


def test_a_ticker_whose_details_calls_fail_is_a_failure_the_rest_loads_and_one_failure_message_is_sent(
        env: dict[str, str], database_uri: str, faulty_sandbox: SandboxServer, admin: Any) -> None:
    """Exit status 0 only on success: a 500 beyond the retries is not "unknown to Polygon"."""
    faulty_sandbox.inject("500", path="/v3/reference/tickers/PEP")
    env = {**env, "POLYGON_BASE_URL": faulty_sandbox.base_url, "POLYGON_API_KEY": CANARY}
    result = tickstock(env, "load", "--symbols", "PEP,MCD", "--months", "1")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "tickstock: loaded 1 of 2 symbols" in result.stdout
    [line] = said(result.stderr)
    run_id = _run_id(line)
    assert line == (f"tickstock: error: loaded 1 of 2 symbols; 1 failed: PEP (ticker details: HTTP 500 "
                    f"after 6 attempts) (run {run_id})")
    assert "known to Polygon" not in result.stdout + result.stderr
    assert stray_lines(result.stderr) == []
    assert _stored(database_uri) == ({"MCD"}, {"MCD"})  # the rest is loaded and committed

    [message] = _about(heard(admin), run_id)
    assert message["event"] == "load_failed" and message["status"] == "failure"
    assert message["error"] == line.removeprefix("tickstock: error: ").removesuffix(f" (run {run_id})")
    assert message["symbols"] == {"requested": 2, "loaded": 1, "unknown": [],
                                  "failed": {"PEP": "ticker details: HTTP 500 after 6 attempts"}}
    for text in (result.stdout, result.stderr, json.dumps(message)):
        assert CANARY not in text


def test_when_no_ticker_loads_because_the_calls_failed_the_reason_is_the_real_cause(
        env: dict[str, str], database_uri: str, faulty_sandbox: SandboxServer, admin: Any) -> None:
    faulty_sandbox.inject("500", path="/v3/reference/tickers/PEP")
    env = {**env, "POLYGON_BASE_URL": faulty_sandbox.base_url}
    result = tickstock(env, "load", "--symbols", "PEP,NOSUCH1", "--months", "1")
    assert result.returncode == 1, result.stderr[-3000:]
    [line] = said(result.stderr)
    run_id = _run_id(line)
    assert line == ("tickstock: error: load failed: none of the 2 requested tickers could be loaded: "
                    "1 failed: PEP (ticker details: HTTP 500 after 6 attempts); 1 unknown to Polygon: "
                    f"NOSUCH1 (run {run_id})")
    assert stray_lines(result.stderr) == []
    assert _counts(database_uri) == (0, 0, 0, 0)
    [message] = _about(heard(admin), run_id)
    assert message["event"] == "load_failed" and message["status"] == "failure"
    assert message["error"].startswith("none of the 2 requested tickers could be loaded: 1 failed: PEP")
    assert message["summary"] == f"load failed: {message['error']}"


def test_redis_down_fails_the_load_on_the_request_budget_and_records_the_missed_failure_message(
        env: dict[str, str], database_uri: str, tmp_path: Path) -> None:
    """Every details call fails because the shared request budget (Redis) is unreachable: the reason
    says so, and the failure message, which Redis cannot take either, is kept in missed_notifications."""
    env = {**env, "REDIS_URL": f"unix://{tmp_path}/nobody-listens.sock"}
    result = tickstock(env, "load", "--symbols", "PEP", "--months", "1")
    assert result.returncode == 1, result.stderr[-3000:]
    error, warning = said(result.stderr)
    assert error.startswith("tickstock: error: load failed: none of the 1 requested tickers could be loaded: "
                            "1 failed: PEP (ticker details: the shared Polygon request budget in Redis is "
                            "unavailable"), error
    assert "known to Polygon" not in result.stderr and stray_lines(result.stderr) == []
    assert warning.startswith("tickstock: warning: Redis unavailable, the admin notification was recorded in "
                              "missed_notifications")
    with sa.create_engine(database_uri).connect() as conn:
        missed = conn.execute(sa.text("SELECT channel, run_id, payload FROM missed_notifications")).all()
    assert [(m.channel, m.run_id) for m in missed] == [("admin_notifications", _run_id(error))]
    assert missed[0].payload["event"] == "load_failed" and "request budget" in missed[0].payload["error"]


def test_all_etfs_comes_from_the_ticker_list_without_a_details_call_per_etf(
        env: dict[str, str], database_uri: str) -> None:
    """Issue 4: `all_etfs` is the API's ETF list; its rows need no details call, and progress shows an ETA."""
    from tickstock_sandbox.universe import reference_universe

    etfs = {t for t, s in reference_universe().items() if s.type == "ETF" and s.active}
    result = tickstock(env, "load", "--universe", "ALL_ETFS", "--months", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"loaded {len(etfs)} of {len(etfs)} symbols (0 details fetched)" in result.stdout
    assert any(" ETA " in line for line in result.stderr.splitlines()), result.stderr[-2000:]
    assert stray_lines(result.stderr) == []
    with sa.create_engine(database_uri).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT symbol, etf_type FROM symbols")).all())
        with_bars = set(conn.execute(sa.text("SELECT DISTINCT symbol FROM ohlcv_daily")).scalars())
        universe = conn.execute(sa.text("SELECT DISTINCT universe FROM load_requests")).scalars().all()
    assert set(stored) == etfs == with_bars and set(stored.values()) == {"ETF"}
    assert universe == ["all_etfs"]


def test_a_ticker_whose_bars_cannot_be_fetched_is_named_the_rest_is_committed_and_the_load_exits_1(
        env: dict[str, str], database_uri: str, faulty_sandbox: SandboxServer) -> None:
    """Faults are per request: KO's aggregates answer 500 beyond the retries; MCD's bars are
    committed and the load fails like a failed details call would (exit 0 only on success)."""
    faulty_sandbox.inject("500", path="/v2/aggs/ticker/KO/")
    env = {**env, "POLYGON_BASE_URL": faulty_sandbox.base_url, "POLYGON_API_KEY": CANARY}
    result = tickstock(env, "load", "--symbols", "KO,MCD", "--months", "1")
    assert result.returncode == 1, result.stderr[-3000:]
    assert "tickstock: loaded 1 of 2 symbols" in result.stdout
    [line] = said(result.stderr)
    assert line.startswith("tickstock: error: loaded 1 of 2 symbols; 1 failed: KO (bars: ") and "500" in line
    assert stray_lines(result.stderr) == []
    assert _stored(database_uri) == ({"KO", "MCD"}, {"MCD"})
    assert CANARY not in result.stdout + result.stderr
