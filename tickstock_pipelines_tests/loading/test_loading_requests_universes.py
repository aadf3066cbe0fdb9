"""Load requests by universe: keys validated, index universes from the shipped lists, cache universes read
from real PostgreSQL (every value shape, preference, hostile members, bound parameters)."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from tickstock_pipelines import reference
from tickstock_pipelines.loading.requests import (
    INDEX_UNIVERSES,
    TICKER_PATTERN,
    LoadInputError,
    cache_universe,
    index_universe,
    universe_keys,
    validate_universe_key,
)

# --- universes ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "expected"), [
    ("sp500", "sp500"), ("top_50", "top_50"), (" Top_50 ", "top_50"), ("ai\n", "ai"),
    ("TOP_10_TECHNOLOGY", "top_10_technology"),
    ("a" * 100, "a" * 100),
])
def test_valid_universe_keys(key: str, expected: str) -> None:
    assert validate_universe_key(key) == expected


@pytest.mark.parametrize("key", [
    "", " ", "a" * 101, "top-50", "top 50", "top_50;DROP TABLE cache_entries", "' OR 1=1 --", "a\ni", "é",
    "top_50\x00",
])
def test_invalid_universe_keys(key: str) -> None:
    with pytest.raises(LoadInputError, match="^unknown universe ") as info:
        validate_universe_key(key)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize(("raw", "expected"), [
    ("all_stocks,all_etfs", ("all_stocks", "all_etfs")),
    (" ALL_STOCKS , all_etfs ,", ("all_stocks", "all_etfs")),
    ("dow30,DOW30,sp500", ("dow30", "sp500")), ("top_50", ("top_50",)),
])
def test_several_universe_keys_are_comma_separated(raw: str, expected: tuple[str, ...]) -> None:
    assert universe_keys(raw) == expected


@pytest.mark.parametrize(("raw", "named"), [
    ("all_stocks,top-50", "'top-50'"), ("dow30;sp500", "'dow30;sp500'"), (",", "','"), ("", "''"),
])
def test_a_bad_key_among_several_is_named_in_one_line(raw: str, named: str) -> None:
    with pytest.raises(LoadInputError, match=f"^unknown universe {named}") as info:
        universe_keys(raw)
    assert len(str(info.value).splitlines()) == 1


def test_index_universes_come_from_the_shipped_lists() -> None:
    assert INDEX_UNIVERSES == ("sp500", "nasdaq100", "dow30")
    sp500 = index_universe("sp500")
    assert sp500 is not None
    assert len(sp500) == len({c.symbol for c in reference.sp500()}) > 490
    assert {"AAPL", "BRK.B", "BF.B"} <= set(sp500)
    assert index_universe("nasdaq100") == tuple(m.symbol for m in reference.nasdaq100())
    dow = index_universe("dow30")
    assert dow is not None and len(dow) == 30 and "AAPL" in dow
    for key in INDEX_UNIVERSES:
        assert all(TICKER_PATTERN.match(t) for t in index_universe(key) or ())


@pytest.mark.parametrize("key", ["top_50", "all_etfs", "sp", "", "sp500;", "russell2000"])
def test_index_universe_is_none_for_other_keys(key: str) -> None:
    assert index_universe(key) is None


@pytest.fixture
def engine(database_uri: str):
    engine = sa.create_engine(database_uri)
    yield engine
    engine.dispose()


def _insert(conn: sa.Connection, type_: str, name: str, key: str, value: object,
            environment: str = "DEFAULT") -> None:
    conn.execute(
        sa.text("INSERT INTO cache_entries (type, name, key, value, environment) "
                "VALUES (:type, :name, :key, CAST(:value AS jsonb), :environment)"),
        {"type": type_, "name": name, "key": key, "value": json.dumps(value), "environment": environment},
    )


def _stock(ticker: str, rank: int) -> dict[str, object]:
    return {"ticker": ticker, "name": ticker, "rank": rank, "market_cap": 1e9, "sector": "Technology"}


def test_cache_universe_reads_each_value_shape(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "market_leaders", "top_50",
                {"count": 3, "stocks": [_stock("AAPL", 1), _stock("MSFT", 2), _stock("brk.b", 3)]})
        _insert(conn, "stock_universe", "themes", "ai", ["NVDA", "MSFT", "NVDA"])
        _insert(conn, "themes", "AI", "list", ["NVDA", "AMD"])
        _insert(conn, "etf_universe", "Growth ETFs", "etf_growth", ["VUG", "IWF"])
        _insert(conn, "etf_universe", "Growth ETFs", "etf_growth_detailed",
                {"count": 2, "etfs": [{"ticker": "VUG", "name": "Vanguard Growth"}, {"ticker": "IWF"}]})
        _insert(conn, "stock_universe", "complete", "all_stocks", [])
    with engine.connect() as conn:
        assert cache_universe(conn, "top_50") == ("AAPL", "MSFT", "BRK.B")
        assert cache_universe(conn, "ai") == ("NVDA", "MSFT")
        assert cache_universe(conn, "list") == ("NVDA", "AMD")
        assert cache_universe(conn, "etf_growth") == ("VUG", "IWF")
        assert cache_universe(conn, "etf_growth_detailed") == ("VUG", "IWF")
        assert cache_universe(conn, "all_stocks") == ()
        assert cache_universe(conn, "mega_cap") is None


def test_cache_universe_preference_environment_and_types(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "themes", "Top", "top_100", ["THEME"])
        _insert(conn, "etf_universe", "complete", "top_100", {"count": 1, "etfs": [{"ticker": "SPY"}]})
        _insert(conn, "stock_universe", "market_leaders", "top_100",
                {"count": 1, "stocks": [_stock("AAPL", 1)]})
        _insert(conn, "etf_universe", "complete", "all_etfs", ["SPY", "QQQ"])
        _insert(conn, "themes", "Robots", "robots", ["ISRG"])
        _insert(conn, "stock_universe", "market_leaders", "top_10_stocks", ["TSLA"], environment="PROD")
        _insert(conn, "app_settings", "ui", "mega_cap", ["NOPE"])
        _insert(conn, "cache_config", "x", "ai", ["NOPE"])
    with engine.connect() as conn:
        assert cache_universe(conn, "top_100") == ("AAPL",)
        assert cache_universe(conn, "all_etfs") == ("SPY", "QQQ")
        assert cache_universe(conn, "robots") == ("ISRG",)
        assert cache_universe(conn, "top_10_stocks") is None
        assert cache_universe(conn, "top_10_stocks", environment="PROD") == ("TSLA",)
        assert cache_universe(conn, "mega_cap") is None  # app_settings is not a universe
        assert cache_universe(conn, "ai") is None
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cache_entries WHERE type = 'stock_universe'"))
    with engine.connect() as conn:
        assert cache_universe(conn, "top_100") == ("SPY",)


def test_cache_universe_same_type_ties_are_stable(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "themes", "semiconductors", ["NVDA"])
        _insert(conn, "stock_universe", "industry", "semiconductors", ["INTC"])
    with engine.connect() as conn:
        assert cache_universe(conn, "semiconductors") == ("INTC",)  # 'industry' < 'themes'


@pytest.mark.parametrize("value", [
    {"overview": {"total_stocks": 1}}, 42, "not json", [1, 2], [{"name": "x"}], {"stocks": "AAPL"},
])
def test_cache_universe_rejects_values_that_are_not_ticker_lists(engine: sa.Engine, value: object) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "custom", "weird", value)
    with engine.connect() as conn, pytest.raises(LoadInputError, match=r"stock_universe\|custom\|weird"):
        cache_universe(conn, "weird")


def test_cache_universe_validates_member_tickers(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "custom", "bad", ["AAPL", "AAPL;DROP"])
    with engine.connect() as conn, pytest.raises(LoadInputError, match=r"\|bad: invalid ticker 'AAPL;DROP'"):
        cache_universe(conn, "bad")


@pytest.mark.parametrize("key", [
    "top_50' OR '1'='1",
    "top_50'; DROP TABLE cache_entries; --",
    "x' UNION SELECT 'stock_universe', 'n', '[\"PWN\"]'::jsonb --",
])
def test_cache_universe_key_is_a_bound_parameter(engine: sa.Engine, key: str) -> None:
    with engine.begin() as conn:
        _insert(conn, "stock_universe", "market_leaders", "top_50", ["AAPL"])
        _insert(conn, "stock_universe", "custom", key, ["MSFT"])
    with engine.connect() as conn:
        assert cache_universe(conn, key) == ("MSFT",)  # found only as the literal key it is
        assert cache_universe(conn, key + "x") is None
        assert cache_universe(conn, "top_50") == ("AAPL",)
        assert conn.execute(sa.text("SELECT count(*) FROM cache_entries")).scalar_one() == 2


@pytest.mark.parametrize("typed", ["SP500", " sp500 ", "Sp500"])
def test_a_universe_is_recorded_under_its_normalised_key(engine: sa.Engine, typed: str) -> None:
    """The weekly refresh re-resolves every recorded universe: 'SP500' and 'sp500' must be one."""
    from tickstock_pipelines.loading.request import LoadRequest, resolve

    with engine.connect() as conn:
        resolved = resolve(LoadRequest(universe=typed), conn, date(2025, 12, 31))
    assert resolved.universe == "sp500" and resolved.source == "universe"
    with engine.connect() as conn:
        listed = resolve(LoadRequest(symbols="AAPL"), conn, date(2025, 12, 31))
    assert listed.universe is None


def test_several_universes_resolve_to_their_union_recorded_under_their_keys(engine: sa.Engine) -> None:
    """`dow30,top_50`: one request, the union of both (each ticker once), recorded as 'dow30,top_50' so the
    weekly refresh resolves the same union; an unknown key among them is named, whichever it is."""
    from tickstock_pipelines.loading.request import LoadRequest, resolve

    with engine.begin() as conn:
        _insert(conn, "stock_universe", "market_leaders", "top_50", ["AAPL", "NOTDOW"])
    with engine.connect() as conn:
        both = resolve(LoadRequest(universe="DOW30, top_50"), conn, date(2025, 12, 31))
        assert both.universe == "dow30,top_50" and both.source == "universe"
        assert both.symbols == (*(index_universe("dow30") or ()), "NOTDOW")
        for bad in ("dow30,mega_cap", "mega_cap,dow30"):
            with pytest.raises(LoadInputError, match="^unknown universe 'mega_cap': use sp500"):
                resolve(LoadRequest(universe=bad), conn, date(2025, 12, 31))
