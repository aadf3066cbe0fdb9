"""The combo family (stock_etf_combo) and the etf_factor / etf_all categories: shapes, members, and that
replace and append keep them right on a real database, with the Redis message counting them."""

from __future__ import annotations

from pathlib import Path

from tickstock_pipelines.cache import verify
from tickstock_pipelines.cache.config import load_config
from tickstock_pipelines.cache.families import FAMILIES
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.notifications.messages import cache_updates_message, universe_updates_message
from tickstock_pipelines_tests.support.cache_fixtures import (
    B,
    add_entry,
    cache_values,
    etf,
    execute,
    frame,
    insert,
    sample_universe,
)

CONFIG = load_config()
TOP = ["AAPL", "MSFT", "NVDA", "JPM", "PGR", "MRNA", "MYST", "O", "SMAL", "TINY"]  # every ranked stock
ESSENTIAL_LOADED = ["SPY", "QQQ", "VOO", "AGG", "GLD"]  # configured order; IWM, DIA, … are not loaded
COMBO = ("stock_etf_combo", "stock_etf_test", "combo_test")
DETAILED = ("stock_etf_combo", "stock_etf_test", "combo_test_detailed")


def _built(rows) -> dict:
    return {(e.type, e.name, e.key): e.value for e in FAMILIES["combo"](frame(rows), CONFIG)}


def test_combo_test_is_the_top_stocks_then_the_loaded_essential_etfs() -> None:
    built = _built(sample_universe())
    assert list(built) == [COMBO, DETAILED]
    assert built[COMBO] == TOP + ESSENTIAL_LOADED


def test_combo_test_detailed_has_the_shape_tickstock_reads() -> None:
    detail = _built(sample_universe())[DETAILED]
    assert set(detail) == {"count", "description", "composition", "stocks", "etfs"}
    assert detail["count"] == 15 and detail["composition"] == {"stocks": 10, "etfs": 5}
    assert isinstance(detail["description"], str) and detail["description"]
    assert detail["stocks"][0] == {"ticker": "AAPL", "name": "AAPL Inc.", "rank": 1, "market_cap": 3000 * B,
                                   "sector": "Technology", "industry": "Consumer Electronics",
                                   "exchange": "XNAS", "market": "stocks", "type": "stock"}
    assert detail["etfs"][0] == {"name": "SPDR S&P 500 ETF Trust", "ticker": "SPY", "etf_type": "ETF",
                                 "issuer": "iShares", "exchange": "ARCX", "market": "stocks", "type": "etf"}
    assert [s["ticker"] for s in detail["stocks"]] + [e["ticker"] for e in detail["etfs"]] == TOP + \
        ESSENTIAL_LOADED


def test_only_the_top_50_stocks_are_in_the_combo() -> None:
    rows = [*sample_universe()] + [
        {**r, "symbol": f"S{i:03d}", "market_cap": (100 + i) * B} for i, r in
        enumerate([sample_universe()[0]] * 60)]
    combo = _built(rows)[COMBO]
    assert len(combo) == 50 + len(ESSENTIAL_LOADED)
    assert combo[:5] == ["AAPL", "MSFT", "NVDA", "JPM", "S059"] and combo[50:] == ESSENTIAL_LOADED
    assert "TINY" not in combo  # the 70th stock


def test_etf_factor_and_etf_all() -> None:
    rows = [*sample_universe(),
            etf("MTUM", "iShares MSCI USA Momentum Factor ETF"),
            etf("USMV", "iShares MSCI USA Min Vol Factor ETF"),
            etf("SPLV", "Invesco S&P 500 Low Volatility ETF", aum=10_000),
            etf("ZQLT", "Acme US Quality ETF"), etf("ZMO2", "Acme 2X Momentum Bull ETF"),
            etf("ZETN", "Acme Momentum ETN", type="ETN")]
    entries = {(e.type, e.name, e.key): e.value for e in FAMILIES["etf_universes"](frame(rows), CONFIG)}
    assert entries[("etf_universe", "Factor ETFs", "etf_factor")] == ["SPLV", "MTUM", "USMV", "ZQLT"]
    every = entries[("etf_universe", "All ETFs", "etf_all")]
    complete = {(e.type, e.name, e.key): e.value for e in FAMILIES["complete"](frame(rows), CONFIG)}
    assert every == complete[("etf_universe", "complete", "all_etfs")] and "ZETN" not in every
    assert entries[("etf_universe", "All ETFs", "etf_all_detailed")]["count"] == len(every) == 11


def test_replace_and_append_keep_the_combo_right(database_uri: str, tmp_path: Path) -> None:
    insert(database_uri, sample_universe())
    add_entry(database_uri, "stock_etf_combo", "someone_else", "mine", '["AAPL"]')
    engine = get_engine(database_uri)

    first = rebuild(engine, CONFIG)
    values = cache_values(database_uri)
    assert values[COMBO] == TOP + ESSENTIAL_LOADED and values[DETAILED]["count"] == 15
    assert ("stock_etf_combo", "someone_else", "mine") not in values  # a family-owned type: replaced
    stats = cache_updates_message(first.result, "r")["stats"]
    assert stats["combo"] == 2 and stats["etf_universes"] == 2 * len(CONFIG.etf_categories)
    assert verify.combo_consistent(values, first.symbols, CONFIG).passed

    # A new leader and a delisted essential: append rewrites both entries, nothing is left stale.
    execute(database_uri, "UPDATE symbols SET market_cap = 9000e9 WHERE symbol = 'MYST'")
    execute(database_uri, "UPDATE symbols SET active = false WHERE symbol = 'GLD'")
    add_entry(database_uri, "stock_etf_combo", "someone_else", "mine", '["AAPL"]')
    appended = rebuild(engine, CONFIG, mode="append")
    values = cache_values(database_uri)
    expected = ["MYST", *[t for t in TOP if t != "MYST"], "SPY", "QQQ", "VOO", "AGG"]
    assert values[COMBO] == expected
    assert values[DETAILED]["composition"] == {"stocks": 10, "etfs": 4}
    assert [s["ticker"] for s in values[DETAILED]["stocks"]][:2] == ["MYST", "AAPL"]
    assert values[("stock_etf_combo", "someone_else", "mine")] == ["AAPL"]  # append keeps it
    assert verify.combo_consistent(values, appended.symbols, CONFIG).passed
    universes = universe_updates_message(appended.result, "r")["universes"]
    assert universes["|".join(COMBO)] == {"status": "changed", "added": [], "removed": ["GLD"]}

    # A renamed combo: replace writes the new key and deletes the old ones, and says so.
    mine = tmp_path / "combo.yaml"
    mine.write_text("combo:\n  key: combo_two\n")
    renamed = rebuild(engine, load_config(mine))
    values = cache_values(database_uri)
    assert {k for (t, _, k) in values if t == "stock_etf_combo"} == {"combo_two", "combo_two_detailed"}
    universes = universe_updates_message(renamed.result, "r")["universes"]
    assert universes["stock_etf_combo|stock_etf_test|combo_test"]["status"] == "deleted"
    assert universes["stock_etf_combo|stock_etf_test|combo_two"]["status"] == "created"
    assert universes["stock_etf_combo|someone_else|mine"]["status"] == "deleted"


def test_the_combo_check_fails_when_the_cache_disagrees(database_uri: str) -> None:
    insert(database_uri, sample_universe())
    done = rebuild(get_engine(database_uri), CONFIG)
    values = cache_values(database_uri)
    values[COMBO] = values[COMBO][:-1]
    verdict = verify.combo_consistent(values, done.symbols, CONFIG)
    assert not verdict.passed and "combo_test is not the top 50 stocks" in verdict.summary
    values = cache_values(database_uri)
    values[DETAILED] = {**values[DETAILED], "count": 3}
    assert not verify.combo_consistent(values, done.symbols, CONFIG).passed
