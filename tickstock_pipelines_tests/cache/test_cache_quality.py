"""Honest quality figures: coverage per category kind with ETFs included (buckets and etf_all, which hold
everything by construction, do not count), sectors checked against TickStock's eleven, the share of
SIC-coded stocks classified; `cache report --json` carries the same figures as the checks."""

from __future__ import annotations

from tickstock_pipelines.cache import verify
from tickstock_pipelines.cache.config import load_config
from tickstock_pipelines.cache.families import build_families
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.cache.report import build_report
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines_tests.support.cache_fixtures import B, etf, frame, insert, sample_universe, stock

CONFIG = load_config()


def _cache(rows):
    symbols = frame(rows)
    built = build_families(symbols, CONFIG)
    return {(e.type, e.name, e.key): e.value for es in built.values() for e in es}, symbols


def test_buckets_and_etf_all_do_not_make_coverage() -> None:
    """Every stock has a cap (so a bucket) and every ETF is in etf_all, but none is in a selective
    category: coverage is 0, whatever the buckets say."""
    rows = [stock(f"U{i}", (i + 1) * B, "Unknown", sic_code="9995") for i in range(4)]
    rows += [etf("ZZA", "Plain Fund A"), etf("ZZB", "Plain Fund B")]
    cache, symbols = _cache(rows)
    verdict = verify.coverage(cache, symbols, CONFIG)
    assert cache[("etf_universe", "All ETFs", "etf_all")] == ["ZZA", "ZZB"]
    assert verdict.details["by_kind"]["market_cap"] == {"members": 4, "of": 4, "share": 1.0}
    assert verdict.details["share"] == 0.0 and not verdict.passed
    assert verdict.details["etfs"] == {"covered": 0, "total": 2, "share": 0.0}
    assert verdict.details["uncovered_sample"] == ["U0", "U1", "U2", "U3", "ZZA", "ZZB"]


def test_coverage_counts_stocks_and_etfs_per_kind() -> None:
    cache, symbols = _cache(sample_universe())
    details = verify.coverage(cache, symbols, CONFIG).details
    assert (details["covered"], details["total"]) == (15, 18)
    assert details["stocks"] == {"covered": 9, "total": 12, "share": 0.75}
    assert details["by_kind"]["themes"] == {"members": 3, "of": 12, "share": 0.25}
    assert details["by_kind"]["etf_categories"] == {"members": 6, "of": 6, "share": 1.0}


def test_sectors_are_checked_against_the_eleven() -> None:
    cache, symbols = _cache(sample_universe())
    verdict = verify.sector_leaders_present(cache, symbols, CONFIG)
    assert verdict.passed and verdict.details["without_leaders"] == [
        "Consumer Staples", "Industrials", "Materials", "Utilities", "Communication Services"]
    assert verdict.summary.startswith("6 of 11 sectors have leaders; none for Consumer Staples")

    del cache[("stock_universe", "sector_leaders", "top_10_energy")]  # TINY is Energy: a real gap
    verdict = verify.sector_leaders_present(cache, symbols, CONFIG)
    assert not verdict.passed and verdict.details["missing"] == ["Energy"] and "(Energy with stocks)" in \
        verdict.summary

    stale, symbols = _cache([*sample_universe(), stock("OLDN", 50 * B, "Consumer Cyclical")])
    verdict = verify.sector_leaders_present(stale, symbols, CONFIG)
    assert not verdict.passed and verdict.details["unexpected"] == ["Consumer Cyclical"]
    assert "sector names TickStock does not know: Consumer Cyclical" in verdict.summary


def test_share_of_sic_coded_stocks_classified() -> None:
    rows = [stock("A", 1 * B, "Technology", sic_code="7372"), stock("B", 1 * B, "Unknown", sic_code="9995"),
            stock("C", 1 * B, "Unknown", sic_code="9721"), stock("D", 1 * B, "Energy", sic_code="1311"),
            stock("E", 1 * B, "Unknown")]  # no SIC code: not in the figure
    assert verify.sic_classified(frame(rows)) == {"sic_coded_stocks": 4, "classified": 2, "share": 0.5,
                                                  "unclassified_codes": ["9721", "9995"]}


def test_the_report_carries_the_checks_figures(database_uri: str) -> None:
    insert(database_uri, sample_universe())
    engine = get_engine(database_uri)
    done = rebuild(engine, CONFIG)
    cache = verify.read_cache(engine, "DEFAULT")
    report = build_report(engine, CONFIG)
    assert report["coverage"] == verify.coverage(cache, done.symbols, CONFIG).details
    sectors = verify.sector_leaders_present(cache, done.symbols, CONFIG)
    assert report["quality"]["sectors"] == {**sectors.details, "summary": sectors.summary}
