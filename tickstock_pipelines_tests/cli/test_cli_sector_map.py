"""A user's sector map, end to end through the CLI: one `tickstock load --sector-map` and one `tickstock
cache rebuild` move a stock (whose details are still fresh) to the user's sector and its leaders key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tickstock_pipelines_tests.support.cache_fixtures import cache_values, execute
from tickstock_pipelines_tests.support.cli_helpers import tickstock


@pytest.fixture
def env(database_uri: str, redis_url: str) -> dict[str, str]:
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url}
    for name in ("DAGSTER_HOME", "TICKSTOCK_CACHE_CONFIG", "TICKSTOCK_SECTOR_MAP", "TICKSTOCK_ETF_RULES"):
        environment.pop(name, None)
    return environment


def _leaders(uri: str) -> dict[str, list[str]]:
    return {key: [s["ticker"] for s in value["stocks"]]
            for (_, name, key), value in cache_values(uri).items() if name == "sector_leaders"}


def test_a_users_sector_map_moves_a_stock_after_one_load_and_rebuild(env: dict[str, str], database_uri: str,
                                                                      tmp_path: Path) -> None:
    first = tickstock(env, "load", "--symbols", "AAPL,JPM", "--months", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    assert dict(execute(database_uri, "SELECT symbol, sector FROM symbols")) == {
        "AAPL": "Technology", "JPM": "Financial Services"}
    (code,) = execute(database_uri, "SELECT sic_code FROM symbols WHERE symbol = 'AAPL'")[0]

    mine = tmp_path / "my_sectors.yaml"
    mine.write_text(f"exact:\n  '{code}': {{sector: Consumer Discretionary, filers: device makers}}\n")
    again = tickstock(env, "load", "--symbols", "AAPL", "--months", "1", "--sector-map", str(mine))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(0 details fetched)" in again.stdout  # AAPL's details are fresh: the map alone moved it
    rebuild = tickstock(env, "cache", "rebuild")
    assert rebuild.returncode == 0, rebuild.stderr[-3000:]

    assert dict(execute(database_uri, "SELECT symbol, sector FROM symbols")) == {
        "AAPL": "Consumer Discretionary", "JPM": "Financial Services"}
    assert _leaders(database_uri) == {"top_10_consumer_discretionary": ["AAPL"],
                                      "top_10_financial_services": ["JPM"]}
    summary = cache_values(database_uri)[("stock_universe", "complete", "top_1000")]["stocks"]
    assert {s["ticker"]: s["sector"] for s in summary} == {"AAPL": "Consumer Discretionary",
                                                           "JPM": "Financial Services"}


def test_a_bad_sector_map_is_refused_in_one_line_before_anything_runs(env: dict[str, str],
                                                                      database_uri: str,
                                                                      tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("exact:\n  3571: Tech\n")
    result = tickstock(env, "load", "--symbols", "AAPL", "--sector-map", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"tickstock: error: {bad} line 2: exact[3571].sector: unknown sector "
                                     "'Tech'; use one of: Technology, Healthcare, Financial Services, "
                                     "Consumer Discretionary, Consumer Staples, Energy, Industrials, "
                                     "Materials, Utilities, Real Estate, Communication Services")
    assert execute(database_uri, "SELECT count(*) FROM symbols")[0][0] == 0


@pytest.mark.parametrize(("option", "variable", "text", "fragment"), [
    ("--etf-rules", "TICKSTOCK_ETF_RULES", "overrides:\n  SPY: {issuer: ''}\n",
     "line 2: overrides.SPY.issuer: String should have at least 1 character"),
    ("--sector-map", "TICKSTOCK_SECTOR_MAP", "exact:\n  0100: Energy\n", "line 2: write 0100 as '0100'"),
])
def test_the_option_and_the_variable_name_the_same_checked_file(env: dict[str, str], database_uri: str,
                                                                tmp_path: Path, option: str, variable: str,
                                                                text: str, fragment: str) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    by_option = tickstock(env, "load", "--symbols", "AAPL", option, str(bad))
    by_variable = tickstock({**env, variable: str(bad)}, "load", "--symbols", "AAPL")
    for result in (by_option, by_variable):
        assert result.returncode == 2
        assert result.stderr.strip().startswith(f"tickstock: error: {bad} {fragment}"), result.stderr
    assert execute(database_uri, "SELECT count(*) FROM symbols")[0][0] == 0
