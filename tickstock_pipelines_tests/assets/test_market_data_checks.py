"""Market data checks and metadata that must be able to fail: real PostgreSQL, real sandbox HTTP, real
Dagster materializations. Checks ride on their asset's materialization, so "re-evaluating" a check means
materializing the asset again (ohlcv_daily then fetches nothing: its coverage says the window is loaded).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from dagster import AssetCheckSeverity, DagsterInstance

from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.loading.symbols_sync import _FIELDS, upsert_symbols
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines_tests.support.market_data_runs import metadata, run_load, totals
from tickstock_sandbox import SandboxServer

DAILY = ["symbols", "ohlcv_daily"]


def evaluation(result: Any, check: str) -> Any:
    [found] = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
    return found


def check_metadata(result: Any, check: str) -> dict[str, Any]:
    return {k: v.value for k, v in evaluation(result, check).metadata.items()}


def _totals(instance: DagsterInstance, result: Any) -> dict[str, Any]:
    return totals(instance, result, "ohlcv_daily")


def session_list(start: date, end: date) -> list[date]:
    return [d.astype(object) for d in sessions_between(start, end)]


def rematerialize_daily(instance: DagsterInstance, resources: dict[str, Any], keys: list[str]) -> Any:
    result = run_load(instance, resources, None, keys, ["ohlcv_daily"])
    assert result.success
    assert metadata(result, "ohlcv_daily")["date_range"] == "nothing missing"  # nothing refetched
    return result


# -- ohlcv_daily: no_missing_sessions and freshness ---------------------------------------------------------


def test_a_session_deleted_inside_the_range_fails_no_missing_sessions_naming_symbol_and_session(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """A hole in the middle of the stored bars must fail the check and say which symbol and session."""
    keys = ["KO", "PEP"]
    assert run_load(instance, resources, {"symbols": keys, "months": 2}, keys, DAILY).success
    days = session_list(history_start(last_completed_session(), months=2), last_completed_session())
    hole = days[len(days) // 2]
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE symbol = 'KO' AND date = :d"), {"d": hole})
    result = rematerialize_daily(instance, resources, ["KO", "PEP"])
    assert evaluation(result, "no_missing_sessions").passed is False
    found = check_metadata(result, "no_missing_sessions")
    assert found["symbols_with_holes"] == {"KO": 1} and found["missing_sessions"] == 1
    assert found["missing"] == {"KO": [hole.isoformat()]}
    assert evaluation(result, "last_bar_is_last_completed_session").passed is True  # the end is intact


def test_a_missing_last_session_fails_freshness_and_no_missing_sessions(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """Coverage says KO was loaded to the last session: lacking that bar is stale AND a missing session."""
    keys = ["KO", "PEP"]
    assert run_load(instance, resources, {"symbols": keys, "months": 1}, keys, DAILY).success
    end = last_completed_session()
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE symbol = 'KO' AND date = :d"), {"d": end})
        loaded_end = conn.execute(sa.text("SELECT loaded_end FROM coverage_targets WHERE symbol = 'KO' "
                                          "AND timespan = 'day'")).scalar_one()
    assert loaded_end == end
    result = rematerialize_daily(instance, resources, ["KO", "PEP"])
    fresh = evaluation(result, "last_bar_is_last_completed_session")
    assert fresh.passed is False and fresh.severity == AssetCheckSeverity.WARN
    assert check_metadata(result, "last_bar_is_last_completed_session")["stale"] == "KO"
    assert evaluation(result, "no_missing_sessions").passed is False
    assert check_metadata(result, "no_missing_sessions")["missing"] == {"KO": [end.isoformat()]}


def test_a_symbol_listed_after_the_window_start_has_no_missing_sessions(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer,
        database_uri: str) -> None:
    """The loaded window may start before a fund's listing (ticker-list rows carry no list date): the
    sessions before its first bar are not missing."""
    listed_on = session_list(last_completed_session() - timedelta(days=20), last_completed_session())[0]
    live_sandbox.add_ticker("NEWF", name="Newfound Momentum ETF", type="ETF", list_date=listed_on)
    assert run_load(instance, resources, {"symbols": ["NEWF", "KO"], "months": 2}, ["KO", "NEWF"],
                    ["symbols"]).success
    engine = sa.create_engine(database_uri)
    with engine.begin() as conn:  # as a row from the ticker list (all_etfs) stores it
        conn.execute(sa.text("UPDATE symbols SET list_date = NULL WHERE symbol = 'NEWF'"))
    result = run_load(instance, resources, None, ["KO", "NEWF"], ["ohlcv_daily"])
    assert result.success
    with engine.connect() as conn:
        loaded_start, first = conn.execute(sa.text(
            "SELECT c.loaded_start, (SELECT min(date) FROM ohlcv_daily WHERE symbol = 'NEWF') "
            "FROM coverage_targets c WHERE c.symbol = 'NEWF' AND c.timespan = 'day'")).one()
    assert loaded_start < first == listed_on  # the situation this test is about
    assert evaluation(result, "no_missing_sessions").passed is True
    assert check_metadata(result, "no_missing_sessions")["symbols_checked"] == 2


# -- symbols and etf_metadata share checks -----------------------------------------------------------------


def test_stocks_have_a_sector_fails_below_the_share_goal(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer) -> None:
    """A stock whose SIC code maps to no sector counts against the 90% goal; half the stocks is too few."""
    first = run_load(instance, resources, {"symbols": ["AAPL"]}, ["AAPL"], ["symbols"])
    assert first.success and evaluation(first, "stocks_have_a_sector").passed is True
    live_sandbox.add_ticker("NOSIC", name="Nosic Holdings Inc.", sub_industry="No Such Sub-Industry")
    result = run_load(instance, resources, {"symbols": ["NOSIC"]}, ["NOSIC"], ["symbols"])
    assert result.success
    check = evaluation(result, "stocks_have_a_sector")
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN
    assert check_metadata(result, "stocks_have_a_sector") == {"share": 0.5, "stocks": 2, "with_sector": 1}


def test_etfs_have_an_issuer_fails_below_the_share_goal(
        instance: DagsterInstance, resources: dict[str, Any], live_sandbox: SandboxServer) -> None:
    """A fund no issuer rule knows counts against the 90% goal; one of two ETPs is too few."""
    first = run_load(instance, resources, {"symbols": ["SPY"], "months": 1}, ["SPY"],
                     [*DAILY, "etf_metadata"])
    assert first.success and evaluation(first, "etfs_have_an_issuer").passed is True
    live_sandbox.add_ticker("OBSQ", name="Obscure Capital Growth Fund", type="ETF")
    result = run_load(instance, resources, {"symbols": ["OBSQ"], "months": 1}, ["OBSQ", "SPY"],
                      [*DAILY, "etf_metadata"])
    assert result.success
    check = evaluation(result, "etfs_have_an_issuer")
    assert check.passed is False and check.severity == AssetCheckSeverity.WARN
    assert check_metadata(result, "etfs_have_an_issuer") == {"share": 0.5, "etps": 2, "with_issuer": 1}


# -- ETP types and etf_metadata values ---------------------------------------------------------------------


def test_etn_etv_and_ets_keep_their_type_and_are_treated_as_etps(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """Polygon types ETN/ETV/ETS are exchange-traded products too: stored as they are, given ETF rules."""
    keys = ["SPY", "TSLL", "UNG", "VXX"]
    result = run_load(instance, resources, {"symbols": keys, "months": 2}, keys, [*DAILY, "etf_metadata"])
    assert result.success
    assert metadata(result, "etf_metadata")["etps"] == 4
    with sa.create_engine(database_uri).connect() as conn:
        rows = {r[0]: r[1:] for r in conn.execute(sa.text(
            "SELECT symbol, type, etf_type, issuer, underlying_index, correlation_reference, "
            "daily_volume_avg > 0 FROM symbols ORDER BY symbol"))}
    assert rows == {
        "SPY": ("ETF", "ETF", "State Street Global Advisors", "S&P 500", "SPY", True),
        "TSLL": ("ETS", "ETS", "Direxion", None, "TSLA", True),  # single-stock: follows its stock
        "UNG": ("ETV", "ETV", "USCF Investments", None, None, True),  # natural gas: no benchmark fits
        "VXX": ("ETN", "ETN", "Barclays", "S&P 500 VIX Short-Term Futures", None, True),
    }


def test_etf_metadata_liquidity_is_the_last_30_sessions_and_spy_follows_the_rules(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """Liquidity is the mean of the LAST 30 sessions (not all history); SPY's attributes come from
    config/etf_rules.yaml: issuer by '\\bSPDR\\b', index by '\\bS&P ?500\\b', correlation by '^S&P 500'."""
    keys = ["AAPL", "SPY"]
    result = run_load(instance, resources, {"symbols": keys, "months": 3}, keys, [*DAILY, "etf_metadata"])
    assert result.success
    with sa.create_engine(database_uri).connect() as conn:
        for symbol in keys:
            stored, last30, overall, sessions = conn.execute(sa.text(
                "SELECT (SELECT ARRAY[daily_volume_avg::numeric, avg_dollar_volume] FROM symbols "
                "        WHERE symbol = :s), "
                "       (SELECT ARRAY[round(avg(volume)), round(avg(close * volume)::numeric, 2)] FROM "
                "          (SELECT volume, close FROM ohlcv_daily WHERE symbol = :s "
                "            ORDER BY date DESC LIMIT 30) t), "
                "       (SELECT round(avg(volume)) FROM ohlcv_daily WHERE symbol = :s), "
                "       (SELECT count(*) FROM ohlcv_daily WHERE symbol = :s)"), {"s": symbol}).one()
            assert sessions > 30 and last30[0] != overall, symbol  # the window matters for this data
            assert stored == last30, symbol
        spy = conn.execute(sa.text("SELECT issuer, underlying_index, correlation_reference FROM symbols "
                                   "WHERE symbol = 'SPY'")).one()
    assert tuple(spy) == ("State Street Global Advisors", "S&P 500", "SPY")


# -- symbols: a null in a good answer keeps the stored value -----------------------------------------------


def test_upsert_symbols_keeps_stored_values_over_nulls(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """An answer with nulls (a ticker-list row has no market cap, SIC code or list date) must not erase
    what the details said; non-null values (a false `active` too) are still taken."""
    assert run_load(instance, resources, {"symbols": ["AAPL"]}, ["AAPL"], ["symbols"]).success
    engine = sa.create_engine(database_uri)
    columns = ", ".join(_FIELDS)
    with engine.connect() as conn:
        before = conn.execute(sa.text(f"SELECT {columns} FROM symbols WHERE symbol = 'AAPL'")).one()  # noqa: S608
    assert all(before._mapping[c] is not None for c in ("name", "market_cap", "sic_code", "sector",
                                                        "list_date", "cik"))
    with engine.begin() as conn:
        upsert_symbols(conn, [{**dict.fromkeys(_FIELDS), "symbol": "AAPL", "active": True,
                               "market_cap": 1.0}])
    with engine.connect() as conn:
        after = conn.execute(sa.text(f"SELECT {columns} FROM symbols WHERE symbol = 'AAPL'")).one()  # noqa: S608
    assert after._mapping == {**before._mapping, "market_cap": 1.0}
    with engine.begin() as conn:
        upsert_symbols(conn, [{**dict.fromkeys(_FIELDS), "symbol": "AAPL", "active": False}])
        assert conn.execute(sa.text("SELECT active, name FROM symbols WHERE symbol = 'AAPL'")).one() == (
            False, before.name)


def test_a_ticker_list_refresh_keeps_the_list_date_from_details(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """all_etfs refreshes rows from the ticker list, whose items have no list date: SPY keeps 1993-01-29."""
    assert run_load(instance, resources, {"symbols": ["SPY"]}, ["SPY"], ["symbols"]).success
    engine = sa.create_engine(database_uri)
    query = sa.text("SELECT list_date, details_updated_at FROM symbols WHERE symbol = 'SPY'")
    with engine.connect() as conn:
        listed_on, updated = conn.execute(query).one()
    assert listed_on == date(1993, 1, 29)
    result = run_load(instance, resources, {"universe": "all_etfs", "max_details_age_days": 0}, ["SPY"],
                      ["symbols"])
    assert result.success and metadata(result, "symbols")["from_ticker_list"] > 1
    with engine.connect() as conn:
        assert conn.execute(query).one() > (listed_on, updated)  # rewritten …
        assert conn.execute(query).one()[0] == listed_on  # … and the date kept


# -- bar metadata: date range, preview, row count ------------------------------------------------------------


def _preview_first_row(md: Any) -> list[str]:
    return [c.strip() for c in md.split("\n")[2].strip("|").split("|")]


def test_ohlcv_daily_metadata_date_range_row_count_and_preview(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """date_range is the sessions fetched in this run: the whole window first, then only the new day; each
    partition reports its own symbol, the run its totals."""
    end = last_completed_session()
    days = session_list(history_start(end, months=2), end)
    result = run_load(instance, resources, {"symbols": ["KO", "PEP"], "months": 2}, ["KO", "PEP"], DAILY)
    assert result.success
    ko, pep = metadata(result, "ohlcv_daily", "KO"), metadata(result, "ohlcv_daily", "PEP")
    assert ko["date_range"] == pep["date_range"] == f"{days[0]} .. {end}"
    assert ko["dagster/row_count"] == pep["dagster/row_count"] == len(days)
    assert _preview_first_row(ko["preview"])[0] == end.isoformat()
    assert _totals(instance, result)["rows_stored"] == 2 * len(days)
    with sa.create_engine(database_uri).begin() as conn:  # a session later for KO: its last one is new again
        conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE symbol = 'KO' AND date = :d"), {"d": end})
        conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = :d WHERE symbol = 'KO'"),
                     {"d": days[-2]})
    again = run_load(instance, resources, None, ["KO", "PEP"], ["ohlcv_daily"])
    ko, pep = metadata(again, "ohlcv_daily", "KO"), metadata(again, "ohlcv_daily", "PEP")
    assert ko["date_range"] == f"{end} .. {end}" and ko["rows_inserted"] == 1 and ko["aggregates_calls"] == 1
    assert pep["date_range"] == "nothing missing" and pep["rows_inserted"] == pep["aggregates_calls"] == 0
    assert _totals(instance, again)["rows_inserted"] == 1


def test_ohlcv_minute_metadata_has_date_range_row_count_and_preview(
        instance: DagsterInstance, resources: dict[str, Any], database_uri: str) -> None:
    """ohlcv_minute reports what ohlcv_daily does: the range fetched, the rows stored, the latest bars."""
    result = run_load(instance, resources, {"symbols": ["PEP"], "months": 1, "timespan": "minute"},
                      ["PEP"], ["symbols", "ohlcv_minute"])
    assert result.success
    minute = metadata(result, "ohlcv_minute")
    end = last_completed_session()
    with sa.create_engine(database_uri).connect() as conn:
        count, latest = conn.execute(sa.text(
            "SELECT count(*), max(timestamp) FROM ohlcv_minute WHERE symbol = 'PEP'")).one()
        close = conn.execute(sa.text("SELECT close FROM ohlcv_minute WHERE symbol = 'PEP' "
                                     "AND timestamp = :t"), {"t": latest}).scalar_one()
    assert minute["date_range"] == f"{session_list(history_start(end, months=1), end)[0]} .. {end}"
    assert minute["dagster/row_count"] == count == minute["rows_inserted"] > 0
    header = minute["preview"].split("\n")[0]
    assert header == "| timestamp | open | high | low | close | volume |"
    assert _preview_first_row(minute["preview"])[0] == str(latest)
    assert _preview_first_row(minute["preview"])[4] == str(close)
    again = metadata(run_load(instance, resources, None, ["PEP"], ["ohlcv_minute"]), "ohlcv_minute")
    assert again["date_range"] == "nothing missing" and again["dagster/row_count"] == count
