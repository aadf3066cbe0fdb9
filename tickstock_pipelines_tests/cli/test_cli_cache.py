"""`tickstock cache rebuild` and `tickstock cache report` as users run them: real subprocesses against the
test's embedded PostgreSQL and Redis, exit status, stdout, one-line errors, and what reached the database."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tickstock_pipelines_tests.support.cache_fixtures import (
    add_entry,
    cache_values,
    etf,
    execute,
    insert,
    raw_rows,
    sample_universe,
    stock,
)
from tickstock_pipelines_tests.support.cli_helpers import said, tickstock
from tickstock_pipelines_tests.support.redis_helpers import heard, redis_server

FAMILY_TYPES = ("stock_universe", "etf_universe", "themes", "stock_stats", "stock_etf_combo")




@pytest.fixture
def env(database_uri: str, redis_url: str) -> dict[str, str]:
    """The test's database and Redis; TICKSTOCK_HOME is the session's (conftest), DAGSTER_HOME generated."""
    environment = {**os.environ, "DATABASE_URI": database_uri, "REDIS_URL": redis_url}
    for name in ("DAGSTER_HOME", "TICKSTOCK_CACHE_CONFIG"):
        environment.pop(name, None)
    return environment


@pytest.fixture
def loaded(database_uri: str) -> str:
    insert(database_uri, sample_universe())
    execute(database_uri, "UPDATE symbols SET last_updated = now() - interval '1 day'")  # fresh, not stale
    add_entry(database_uri, "app_settings", "ui", "theme", '{"dark": true}')
    return database_uri


def _family_rows(uri: str) -> dict[tuple[str, str, str], object]:
    return {k: v for k, v in cache_values(uri).items() if k[0] in FAMILY_TYPES}


def test_rebuild_replace_then_append_keeps_or_removes_custom_universes(
        env: dict[str, str], loaded: str) -> None:
    result = tickstock(env, "cache", "rebuild")
    assert result.returncode == 0, result.stderr
    assert said(result.stderr) == []  # Redis up: no warning
    (line,) = result.stdout.splitlines()
    produced = len(_family_rows(loaded))
    assert line.startswith(f"tickstock: cache rebuild (replace, DEFAULT) committed {produced} entries for "
                           f"9 families: {produced} new, 0 changed, 0 unchanged, 0 deleted;")
    values = cache_values(loaded)
    assert values[("stock_universe", "market_cap", "mega_cap")]["count"] == 3
    assert values[("app_settings", "ui", "theme")] == {"dark": True}
    # TickStock's own keys: the combo pair and the ETF categories etf_factor and etf_all.
    combo = values[("stock_etf_combo", "stock_etf_test", "combo_test")]
    assert combo[:3] == ["AAPL", "MSFT", "NVDA"] and combo[-5:] == ["SPY", "QQQ", "VOO", "AGG", "GLD"]
    detailed = values[("stock_etf_combo", "stock_etf_test", "combo_test_detailed")]
    assert detailed["composition"] == {"stocks": 10, "etfs": 5} and detailed["etfs"][0]["type"] == "etf"
    assert values[("etf_universe", "All ETFs", "etf_all")] == values[("etf_universe", "complete", "all_etfs")]
    assert ("etf_universe", "Factor ETFs", "etf_factor_detailed") in values
    assert execute(loaded, "SELECT count(*) FROM missed_notifications")[0][0] == 0
    run_id = line.rsplit("(run ", 1)[1].rstrip(")")
    assert execute(loaded, "SELECT status FROM runs WHERE run_id = :r", {"r": run_id})[0][0] == "SUCCESS"

    add_entry(loaded, "stock_universe", "custom", "mine", '["AAPL"]')
    execute(loaded, "UPDATE symbols SET market_cap = 250e9 WHERE symbol = 'JPM'")
    result = tickstock(env, "cache", "rebuild", "--no-delete", "--verbose")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tickstock: cache rebuild (append, DEFAULT) committed")
    assert "0 deleted" in result.stdout.splitlines()[0]
    market_cap = next(x for x in result.stdout.splitlines() if x.strip().startswith("market_cap"))
    assert "5 entries" in market_cap and "~2 changed" in market_cap and "(+1/-1 tickers)" in market_cap
    assert "mega_cap 4, large_cap 1, mid_cap 3, small_cap 1, micro_cap 1" in result.stdout
    assert cache_values(loaded)[("stock_universe", "custom", "mine")] == ["AAPL"]

    before = _family_rows(loaded)
    result = tickstock(env, "cache", "rebuild")  # replace: the custom universe goes, nothing else moves
    assert result.returncode == 0, result.stderr
    assert "0 new, 0 changed" in result.stdout and "1 deleted; 1 universes changed" in result.stdout
    after = _family_rows(loaded)
    assert set(before) - set(after) == {("stock_universe", "custom", "mine")}
    assert {k: v for k, v in before.items() if k in after} == after
    assert cache_values(loaded)[("app_settings", "ui", "theme")] == {"dark": True}


def test_rebuild_with_redis_down_exits_zero_warns_and_records(env: dict[str, str],
                                                              loaded: str, tmp_path: Path) -> None:
    env = {**env, "REDIS_URL": f"unix://{tmp_path}/no-redis.sock"}
    result = tickstock(env, "cache", "rebuild")
    assert result.returncode == 0, result.stderr
    (warning,) = said(result.stderr)
    assert warning.startswith("tickstock: warning: Redis unavailable, 3 notifications recorded in "
                              "missed_notifications; the cache is committed")
    assert cache_values(loaded)[("stock_universe", "market_cap", "mega_cap")]["count"] == 3
    channels = [r.channel for r in execute(loaded, "SELECT channel FROM missed_notifications ORDER BY id")]
    assert channels == ["cache_updates", "universe_updates", "admin_notifications"]


def test_bad_config_file_exits_non_zero_with_one_line_and_writes_nothing(
        env: dict[str, str], loaded: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  ai:\n    display_name: AI\n    tickers: [NVDA, 'no good']\n")
    before = raw_rows(loaded)
    for args in (("cache", "rebuild", "--config", str(bad)), ("cache", "report", "--config", str(bad))):
        result = tickstock(env, *args)
        assert result.returncode == 2 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith(f"tickstock: error: {bad} line 4: themes.ai.tickers[1]"), line
    # Through the environment variable too, and before any run exists.
    result = tickstock({**env, "TICKSTOCK_CACHE_CONFIG": str(bad)}, "cache", "rebuild")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1 and "line 4" in result.stderr
    assert raw_rows(loaded) == before
    assert execute(loaded, "SELECT to_regclass('runs') IS NULL")[0][0]  # not even a Dagster run
    assert execute(loaded, "SELECT count(*) FROM missed_notifications")[0][0] == 0


def test_report_text_and_json_agree_with_the_database(env: dict[str, str],
                                                      loaded: str) -> None:
    assert tickstock(env, "cache", "rebuild").returncode == 0
    total = execute(loaded, "SELECT count(*) FROM cache_entries WHERE environment = 'DEFAULT'")[0][0]

    result = tickstock(env, "cache", "report", "--json", "--symbols", "aapl,NOPE")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"]["entries"] == total
    assert report["totals"]["by_type"]["app_settings"] == 1
    assert report["symbols"]["active_stocks"] == 12 and report["symbols"]["stocks_with_market_cap"] == 10
    assert report["symbols"]["complete_lists_match"] is True
    assert report["quality"]["market_cap_buckets_consistent"] is True
    assert report["coverage"]["by_kind"]["etf_categories"] == {"members": 6, "of": 6, "share": 1.0}
    assert report["quality"]["sectors"]["without_leaders"][0] == "Consumer Staples"
    assert report["quality"]["families_missing"] == [] and report["quality"]["protected_rows"] == 1
    assert report["freshness"]["cache_current"] is True
    assert {r["code"] for r in report["recommendations"]} == {
        "coverage_below_goal", "missing_market_caps", "unknown_sectors", "theme_tickers_not_loaded",
        "empty_universes"}  # each true of the sample; symbols_stale, cache_behind_symbols are not
    detail = report["symbol_detail"]
    assert detail["NOPE"] == {"in_symbols": False, "type": None, "active": None, "market_cap": None,
                              "sector": None, "industry": None, "universes": []}
    assert "stock_universe|market_cap|mega_cap" in detail["AAPL"]["universes"]
    mega = next(e for e in report["entries"] if e["key"] == "mega_cap")
    assert mega["count"] == 3

    text = tickstock(env, "cache", "report")
    assert text.returncode == 0, text.stderr
    assert f"Entries: {total}  " in text.stdout
    assert "  stock_universe|market_cap|mega_cap: 3" in text.stdout
    assert "market-cap buckets consistent: yes" in text.stdout
    assert ("coverage 83.3% (15/18 active stocks and ETFs in a category; goal 90%): market_cap 83.3%, "
            "sector_leaders 75.0%, themes 25.0%, industries 75.0%, etf_categories 100.0%") in text.stdout
    assert ("sectors: 6 of 11 sectors have leaders; none for Consumer Staples, Industrials, Materials, "
            "Utilities, Communication Services; SIC-coded stocks classified 90.9% of 11") in text.stdout
    assert "2 active common stocks have no market cap" in text.stdout
    assert "none: the cache looks right" not in text.stdout

    # Symbols change after the rebuild: the report says the cache is behind, and only then.
    execute(loaded, "UPDATE symbols SET market_cap = 1e6, last_updated = now() WHERE symbol = 'AAPL'")
    report = json.loads(tickstock(env, "cache", "report", "--json").stdout)
    codes = {r["code"] for r in report["recommendations"]}
    assert {"cache_behind_symbols", "buckets_inconsistent"} <= codes and "symbols_stale" not in codes
    assert report["quality"]["market_cap_buckets_consistent"] is False
    execute(loaded, "UPDATE symbols SET last_updated = now() - interval '30 days'")
    report = json.loads(tickstock(env, "cache", "report", "--json").stdout)
    assert "symbols_stale" in {r["code"] for r in report["recommendations"]}
    assert report["freshness"]["symbols_age_days"] == pytest.approx(30, abs=0.1)


def test_report_on_an_empty_database_recommends_loading_and_rebuilding(env: dict[str, str],
                                                                       database_uri: str) -> None:
    result = tickstock(env, "cache", "report", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"]["entries"] == 0
    assert [r["code"] for r in report["recommendations"]][:2] == ["no_symbols", "no_cache"]
    text = tickstock(env, "cache", "report").stdout
    assert "symbols is empty: load symbols first" in text and "run `tickstock cache rebuild`" in text


def test_report_refuses_a_malformed_ticker_in_one_line(env: dict[str, str]) -> None:
    result = tickstock(env, "cache", "report", "--symbols", "AAPL,BAD;DROP")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "tickstock: error: malformed ticker 'BAD;DROP': 1-10 characters of A-Z, 0-9 and '.'"]


@pytest.mark.parametrize("command", [("cache", "rebuild"), ("cache", "report")])
def test_unreachable_database_is_one_line_before_any_run(env: dict[str, str],
                                                        command: tuple[str, ...]) -> None:
    env = {**env, "DATABASE_URI": "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"}
    result = tickstock(env, *command, timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    [line] = result.stderr.splitlines()  # no Dagster retry warnings before it
    assert line.startswith("tickstock: error: database unreachable: ") and "127.0.0.1" in line


def test_redis_down_during_rebuilds_then_back_any_command_delivers_the_missed_messages_once_oldest_first(
        env: dict[str, str], loaded: str, tmp_path: Path) -> None:
    """Redis down: nothing is lost. Two rebuilds while Redis is down keep six messages; the
    next command that reaches Redis (here a report, which sends nothing of its own) delivers them in the
    order they were made, once."""
    import redis

    sock = tmp_path / "redis.sock"
    down = {**env, "REDIS_URL": f"unix://{sock}"}
    runs = []
    for args in (("cache", "rebuild"), ("cache", "rebuild", "--no-delete")):
        result = tickstock(down, *args)
        assert result.returncode == 0 and "Redis unavailable, 3 notifications" in result.stderr, result.stderr
        runs.append(result.stdout.rsplit("(run ", 1)[1].split(")")[0])
    pending = "SELECT channel, run_id FROM missed_notifications WHERE delivered_at IS NULL ORDER BY id"
    stored = [(r.channel, r.run_id) for r in execute(loaded, pending)]
    channels = ["cache_updates", "universe_updates", "admin_notifications"]
    assert stored == [(c, run) for run in runs for c in channels]

    with redis_server(sock) as url:
        client = redis.Redis.from_url(url)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*channels)
        while pubsub.get_message(timeout=1) is not None:
            pass
        report = tickstock(down, "cache", "report")
        assert report.returncode == 0 and said(report.stderr) == [
            "tickstock: delivered 6 missed notifications"], report.stderr
        arrived = heard(pubsub)
        events = ("cache_rebuild_completed", "universe_membership_changed", "cache_rebuild_completed")
        assert [(m["event"], m["run_id"]) for m in arrived] == [(e, run) for run in runs for e in events]
        assert [m["mode"] for m in arrived[::3]] == ["replace", "append"]
        again = tickstock(down, "cache", "report")  # delivered ones are never sent again
        assert again.returncode == 0 and said(again.stderr) == [] and heard(pubsub) == []
        pubsub.close()
        client.close()
    assert execute(loaded, "SELECT count(*) FROM missed_notifications WHERE delivered_at IS NULL")[0][0] == 0


def test_report_accounts_for_every_symbols_row_by_kind(env: dict[str, str], database_uri: str) -> None:
    """ADRs, ETNs/ETVs and other types are neither stocks nor ETFs: the report still counts each row once."""
    insert(database_uri, [stock("AAPL", 3e12), stock("OLD", 1e9, active=False),
                          stock("ARM", 1e11, type="ADRC"), stock("ASML", 3e11, type="ADRC"),
                          stock("BAC.PRB", None, type="PFD"),
                          etf("SPY", aum=5e5), etf("GLD", type="ETV"), etf("VXX", type="ETN")])
    report = json.loads(tickstock(env, "cache", "report", "--json").stdout)["symbols"]
    assert report["rows_by_kind"] == {"common stocks": 2, "ETFs": 1, "ETN/ETV/ETS": 2, "ADRs": 2, "others": 1}
    assert sum(report["rows_by_kind"].values()) == report["symbols_rows"] == 8
    assert report["other_types"] == {"PFD": 1} and report["active_stocks"] == 1
    text = tickstock(env, "cache", "report").stdout
    assert ("8 rows: 2 common stocks, 1 ETFs, 2 ETN/ETV/ETS, 2 ADRs, 1 others (PFD 1); 1 inactive"
            in text), text
    assert "active: 1 common stocks (1 with market cap), 1 ETFs" in text
