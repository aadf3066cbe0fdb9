"""Each family's shape and membership rules, as pure functions of a symbols frame (no database)."""

from __future__ import annotations

import pytest

from tickstock_pipelines.cache.config import Theme, load_config
from tickstock_pipelines.cache.entries import slug, tickers_of
from tickstock_pipelines.cache.families import FAMILIES, FAMILY_NAMES, build_families, family_of
from tickstock_pipelines_tests.support.cache_fixtures import B, M, etf, frame, sample_universe, stock

CONFIG = load_config()
STOCK_KEYS = {"ticker", "name", "rank", "market_cap", "sector", "industry", "exchange", "market"}


@pytest.fixture(scope="module")
def built():
    entries = build_families(frame(sample_universe()), CONFIG)
    return {(e.type, e.name, e.key): e.value for es in entries.values() for e in es}


@pytest.mark.parametrize(
    ("market_cap", "bucket"),
    [
        (3_000 * B, "mega_cap"),
        (200 * B, "mega_cap"),
        (199_999_999_999.99, "large_cap"),
        (10 * B, "large_cap"),
        (9_999_999_999.99, "mid_cap"),
        (2 * B, "mid_cap"),
        (1_999_999_999.99, "small_cap"),
        (300 * M, "small_cap"),
        (299_999_999.99, "micro_cap"),
        (1, "micro_cap"),
    ],
)
def test_market_cap_bucket_boundaries_lower_bound_inclusive(market_cap: float, bucket: str) -> None:
    entries = FAMILIES["market_cap"](frame([stock("X", market_cap)]), CONFIG)
    members = {e.key: tickers_of(e.value) for e in entries}
    assert members[bucket] == ["X"]
    assert sum(len(v) for v in members.values()) == 1


def test_market_cap_writes_all_five_buckets_with_counts(built) -> None:
    buckets = {k: v for (t, n, k), v in built.items() if (t, n) == ("stock_universe", "market_cap")}
    assert list(buckets) == ["mega_cap", "large_cap", "mid_cap", "small_cap", "micro_cap"]
    assert {k: tickers_of(v) for k, v in buckets.items()} == {
        "mega_cap": ["AAPL", "MSFT", "NVDA"], "large_cap": ["JPM", "PGR"], "mid_cap": ["MRNA", "MYST", "O"],
        "small_cap": ["SMAL"], "micro_cap": ["TINY"],
    }
    assert all(v["count"] == len(v["stocks"]) for v in buckets.values())


def test_stock_objects_carry_real_sector_industry_and_one_based_rank(built) -> None:
    large = built[("stock_universe", "market_cap", "large_cap")]
    assert large["stocks"][0] == {
        "ticker": "JPM", "name": "JPM Inc.", "rank": 1, "market_cap": 199_999_999_999.99,
        "sector": "Financial Services", "industry": "Banks—Diversified", "exchange": "XNYS",
        "market": "stocks",
    }
    for (type_, _, _), value in built.items():
        if type_ == "stock_universe" and isinstance(value, dict):
            assert [s["rank"] for s in value["stocks"]] == list(range(1, value["count"] + 1))
            assert all(set(s) == STOCK_KEYS for s in value["stocks"])


def test_industry_falls_back_to_sic_description() -> None:
    entries = FAMILIES["market_cap"](frame([stock("X", 5 * B, industry=None, sic_code="6798",
                                                  sic_description="REAL ESTATE INVESTMENT TRUSTS")]), CONFIG)
    assert entries[2].value["stocks"][0]["industry"] == "REAL ESTATE INVESTMENT TRUSTS"


def test_sector_leaders_one_key_per_sector_present_never_unknown(built) -> None:
    leaders = {k: tickers_of(v) for (t, n, k), v in built.items() if n == "sector_leaders"}
    assert leaders == {
        "top_10_consumer_discretionary": ["SMAL"], "top_10_energy": ["TINY"],
        "top_10_financial_services": ["JPM", "PGR"], "top_10_healthcare": ["MRNA"],
        "top_10_real_estate": ["O"], "top_10_technology": ["AAPL", "MSFT", "NVDA"],
    }


def test_sector_leaders_top_ten_by_cap() -> None:
    rows = [stock(f"T{i:02d}", (i + 1) * B, "Technology") for i in range(15)]
    entries = FAMILIES["sector_leaders"](frame(rows), CONFIG)
    assert [e.key for e in entries] == ["top_10_technology"]
    assert tickers_of(entries[0].value) == [f"T{i:02d}" for i in range(14, 4, -1)]


@pytest.mark.parametrize(("sector", "key"), [
    ("Financial Services", "financial_services"), ("Consumer Discretionary", "consumer_discretionary"),
    ("Communication Services", "communication_services"), ("Real Estate", "real_estate"),
    ("Technology", "technology"), ("Health-Care & Co.", "health_care_and_co"),
])
def test_sector_slug(sector: str, key: str) -> None:
    assert slug(sector) == key


def test_market_leaders_keys_and_sizes(built) -> None:
    leaders = {k: v for (t, n, k), v in built.items() if n == "market_leaders"}
    assert list(leaders) == ["top_10_stocks", "top_50", "top_100", "top_250", "top_500"]
    assert tickers_of(leaders["top_10_stocks"]) == ["AAPL", "MSFT", "NVDA", "JPM", "PGR", "MRNA", "MYST", "O",
                                                    "SMAL", "TINY"]
    assert leaders["top_500"]["count"] == 10


def test_market_leaders_cut_at_size() -> None:
    rows = [stock(f"S{i:03d}", (1000 - i) * B) for i in range(60)]
    entries = {e.key: e.value for e in FAMILIES["market_leaders"](frame(rows), CONFIG)}
    assert entries["top_10_stocks"]["count"] == 10 and entries["top_50"]["count"] == 50
    assert entries["top_100"]["count"] == 60
    assert entries["top_50"]["stocks"][49] | {} == entries["top_100"]["stocks"][49]


def test_themes_dual_entries_display_names_as_configured() -> None:
    config = CONFIG.model_copy(update={"themes": {
        "ai": Theme(display_name="AI", tickers=["NVDA", "GONE", "MSFT", "NOPE", "NVDA"]),
        "ev": Theme(display_name="EV", tickers=["TSLA"]),
        "e_fin": Theme(display_name="eFintech & Co", tickers=["JPM", "TSM"]),
    }})
    entries = {(e.type, e.name, e.key): e.value for e in FAMILIES["themes"](frame(sample_universe()), config)}
    assert entries == {
        ("themes", "AI", "list"): ["NVDA", "MSFT"],  # configured order; inactive and unknown skipped
        ("stock_universe", "themes", "ai"): ["NVDA", "MSFT"],
        ("themes", "EV", "list"): [],
        ("stock_universe", "themes", "ev"): [],
        ("themes", "eFintech & Co", "list"): ["JPM", "TSM"],  # an active ADR counts for a theme
        ("stock_universe", "themes", "e_fin"): ["JPM", "TSM"],
    }


def test_shipped_themes_have_the_display_names_tickstock_shows() -> None:
    names = {t.display_name for t in CONFIG.themes.values()}
    assert {"AI", "Biotech", "Cloud", "Crypto", "Cybersecurity", "EV", "Fintech", "Quantum", "Robotics",
            "Semi", "Space"} <= names


@pytest.mark.parametrize(("group", "members"), [
    ("banks", ["JPM"]), ("insurance", ["PGR"]), ("software", ["MSFT"]), ("retail", ["SMAL"]),
    ("semiconductors", ["NVDA"]), ("reits", ["O"]), ("oil_gas", ["TINY"]), ("biotechnology", ["MRNA"]),
    ("hardware", ["AAPL"]), ("utilities", []),
])
def test_industry_groups(built, group: str, members: list[str]) -> None:
    assert tickers_of(built[("stock_universe", "industry", group)]) == members


def test_industry_matches_text_when_sic_missing() -> None:
    rows = [stock("BANKX", 3 * B, "Financial Services", industry="Banks—Regional", sic_code=None)]
    entries = {e.key: tickers_of(e.value) for e in FAMILIES["industry"](frame(rows), CONFIG)}
    assert entries["banks"] == ["BANKX"]


def test_etfs_ordered_by_aum_then_dollar_volume_etns_only_in_all_etps(built) -> None:
    assert built[("etf_universe", "complete", "all_etfs")] == ["SPY", "VOO", "GLD", "QQQ", "AGG", "NEWX"]
    assert built[("etf_universe", "complete", "all_etps")] == [
        "SPY", "VOO", "GLD", "QQQ", "VXX", "AGG", "NEWX"]
    top = built[("etf_universe", "complete", "top_100")]
    assert top["count"] == 6 and [e["rank"] for e in top["etfs"]] == [1, 2, 3, 4, 5, 6]
    assert top["etfs"][0]["aum_millions"] == 500_000 and top["etfs"][3]["aum_millions"] is None


def test_etf_categories_array_and_detailed(built) -> None:
    assert built[("etf_universe", "Broad Market ETFs", "etf_broad_market")] == ["SPY", "VOO", "QQQ"]
    assert built[("etf_universe", "Bond ETFs", "etf_bonds")] == ["AGG"]
    assert built[("etf_universe", "Commodity ETFs", "etf_commodities")] == ["GLD"]
    assert built[("etf_universe", "Growth ETFs", "etf_growth")] == ["NEWX"]  # by name pattern
    detailed = built[("etf_universe", "Broad Market ETFs", "etf_broad_market_detailed")]
    assert detailed["count"] == 3
    fields = {"ticker", "name", "rank", "etf_type", "issuer", "aum_millions", "expense_ratio"}
    assert fields <= set(detailed["etfs"][0])
    assert "VXX" not in str(built[("etf_universe", "Broad Market ETFs", "etf_broad_market")])


def test_etf_category_excludes_geared_products_by_name() -> None:
    rows = [etf("UPX", "Direxion Daily S&P 500 Bull 3X Shares"), etf("PLAIN", "Acme S&P 500 ETF")]
    entries = {e.key: e.value for e in FAMILIES["etf_universes"](frame(rows), CONFIG)}
    assert entries["etf_broad_market"] == ["PLAIN"]
    assert entries["etf_leveraged"] == ["UPX"]


def test_complete_all_stocks_lists_stocks_without_market_cap_last(built) -> None:
    assert built[("stock_universe", "complete", "all_stocks")] == [
        "AAPL", "MSFT", "NVDA", "JPM", "PGR", "MRNA", "MYST", "O", "SMAL", "TINY", "NOCAP", "ZERO"]
    assert built[("stock_universe", "complete", "top_1000")]["count"] == 10


def test_inactive_symbols_are_in_no_universe(built) -> None:
    for value in built.values():
        assert "GONE" not in (tickers_of(value) or []) and "OLD" not in (tickers_of(value) or [])


def test_adrs_are_not_stocks(built) -> None:
    for (type_, name, _), value in built.items():
        if type_ == "stock_universe" and name != "themes":
            assert "TSM" not in (tickers_of(value) or [])


def test_stats_summary(built) -> None:
    overview = built[("stock_stats", "universe", "summary")]["overview"]
    assert overview["total_stocks"] == 12 and overview["stocks_with_market_cap"] == 10
    assert overview["total_etfs"] == 6 and overview["total_etps"] == 7
    assert overview["unique_sectors"] == 7  # Unknown is not a sector
    assert overview["total_market_cap"] == pytest.approx(
        (3000 + 2800 + 200 + 10 + 9.999999999 + 5 + 2 + 0.3 + 0.299999999) * B + 199_999_999_999.99)
    assert overview["average_market_cap"] == pytest.approx(overview["total_market_cap"] / 10, rel=1e-9)
    assert overview["unique_exchanges"] == 2 and "last_updated" in overview


def test_every_family_entry_is_owned_by_its_family(built) -> None:
    for family, entries in build_families(frame(sample_universe()), CONFIG).items():
        assert entries and all(family_of(e.type, e.name) == family for e in entries)
    assert set(FAMILY_NAMES) == set(FAMILIES)


def test_empty_symbols_build_empty_but_well_formed_entries() -> None:
    entries = build_families(frame([]), CONFIG)
    values = {(e.type, e.name, e.key): e.value for es in entries.values() for e in es}
    assert values[("stock_universe", "market_cap", "mega_cap")] == {"count": 0, "stocks": []}
    assert not any(n == "sector_leaders" for _, n, _ in values)
    assert values[("stock_stats", "universe", "summary")]["overview"]["total_stocks"] == 0
