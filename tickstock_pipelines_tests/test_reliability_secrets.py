"""A canary POLYGON_API_KEY, used for real (the sandbox receives it as the bearer key), never appears in
stdout, stderr, any file under TICKSTOCK_HOME or DAGSTER_HOME (logs, compute logs, dagster.yaml), the
Dagster event log and run records, or any row of any table, even when requests fail and runs fail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tickstock_pipelines.sandbox import SandboxConfig, SandboxServer
from tickstock_pipelines_tests.cli_helpers import tickstock
from tickstock_pipelines_tests.reliability_helpers import all_text

pytestmark = pytest.mark.slow
CANARY = "cAnArY-9f3b1e7d-POLYGON-KEY-5a2c"


@pytest.fixture
def sandbox() -> Iterator[tuple[SandboxServer, list[str]]]:
    """The sandbox, recording the Authorization header of every API request it receives."""
    server = SandboxServer(SandboxConfig())
    seen: list[str] = []
    handler = server._httpd.RequestHandlerClass

    class Recording(handler):  # type: ignore[misc, valid-type]
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization", ""))
            super().do_GET()

    server._httpd.RequestHandlerClass = Recording
    with server:
        yield server, seen


def test_a_canary_key_never_leaks_anywhere(sandbox: tuple[SandboxServer, list[str]], database_uri: str,
                                           redis_url: str, tmp_path: Path) -> None:
    server, authorizations = sandbox
    home = tmp_path / "home"
    env = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url, "TICKSTOCK_HOME": str(home),
           "POLYGON_BASE_URL": server.base_url, "POLYGON_API_KEY": CANARY,
           "POLYGON_REQUESTS_PER_MINUTE": "100000"}
    env.pop("DAGSTER_HOME", None)
    # Failures on the way, each of which ends up in a log line, a warning, a run failure or metadata.
    server.inject("500", path="/v3/reference/tickers/MSFT")  # details fail for good: a failed ticker
    server.inject("429", count=3, retry_after=0.1)
    server.inject("503", path="/v2/aggs", count=2)
    server.inject("truncated", path="/v2/aggs/ticker/KO", count=1)  # the bars step fails: the run fails
    results = [
        tickstock(env, "load", "--symbols", "AAPL,MSFT,KO,SPY,NOSUCH1", "--months", "2"),
        tickstock(env, "load", "--symbols", "AAPL,MSFT,KO,SPY", "--months", "2"),
        tickstock(env, "load", "--symbols", "NOSUCH1,NOSUCH2"),
        tickstock(env, "load", "--symbols", "PEP", "--months", "1", "--timespan", "minute"),
        tickstock(env, "cache", "rebuild", "--verbose"),
        tickstock(env, "cache", "report", "--json"),
        tickstock({**env, "REDIS_URL": f"unix://{tmp_path}/none.sock"}, "cache", "rebuild"),
        tickstock({**env, "DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"},
                  "load", "--symbols", "AAPL"),
    ]
    codes = [r.returncode for r in results]
    # the second load: MSFT's details fail for good, so it is not a success (exit 1) though the rest loads
    assert codes == [1, 1, 1, 0, 0, 0, 0, 2], [(r.returncode, r.stderr[-1500:]) for r in results]
    assert "SANDBOX DATA" not in results[1].stdout  # the key was used: not sandbox mode
    stats = server.stats()
    assert stats["faults_injected"] and stats["key_in_url_requests"] == 0
    assert authorizations and set(authorizations) == {f"Bearer {CANARY}"}

    for result in results:
        assert CANARY not in result.stdout and CANARY not in result.stderr
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.name == "dagster.yaml" for p in files)
    for path in files:
        assert CANARY.encode() not in path.read_bytes(), path
    tables = all_text(database_uri)
    assert {"public.runs", "public.event_logs", "public.symbols", "public.ohlcv_daily"} <= set(tables)
    # The failures did reach the event log (where a leaky message would have taken the key).
    assert "malformed JSON" in tables["public.event_logs"] and "MSFT" in tables["public.event_logs"]
    leaked = [table for table, text in tables.items() if CANARY in text]
    assert leaked == []
