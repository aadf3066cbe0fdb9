"""The atomic commit on real PostgreSQL: replace vs append, unchanged rows, protected rows byte for byte,
failures halfway, concurrent rebuilds, subset commits, membership diffs and the verification SQL."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tickstock_pipelines.cache import commit as commit_module
from tickstock_pipelines.cache.commit import commit_entries
from tickstock_pipelines.cache.config import Theme, load_config
from tickstock_pipelines.cache.entries import FAMILY_OWNED_TYPES, CacheEntry
from tickstock_pipelines.cache.families import FAMILIES
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines_tests.support.cache_fixtures import (
    B,
    add_entry,
    cache_values,
    execute,
    insert,
    raw_rows,
    sample_universe,
    stock,
)

CONFIG = load_config()


def _protected(uri: str) -> list[tuple]:
    return [r for r in raw_rows(uri) if not (r[4] == "DEFAULT" and r[1] in FAMILY_OWNED_TYPES)]


def _seed_protected(uri: str) -> None:
    add_entry(uri, "app_settings", "ui", "theme", '{"dark": true, "nested": {"b": 1, "a": [1, 2.50]}}')
    add_entry(uri, "cache_config", "cache", "ttl", "300")
    add_entry(uri, "mystery_type", "x", "y", '"kept"')
    add_entry(uri, "stock_universe", "market_cap", "mega_cap", '{"count": 0, "stocks": []}', "STAGING")


@pytest.fixture
def loaded(database_uri: str) -> str:
    insert(database_uri, sample_universe())
    _seed_protected(database_uri)
    return database_uri


# The verification queries TickStock's operators run, character for character (less its trailing blanks).
OPERATOR_COUNTS = """SELECT type, name, COUNT(*) as count
FROM cache_entries
GROUP BY type, name
ORDER BY type, name;"""
OPERATOR_BUCKETS = """SELECT key, jsonb_extract_path_text(value::jsonb, 'count') as stock_count
FROM cache_entries
WHERE type = 'stock_universe' AND name = 'market_cap';"""
OPERATOR_THEMES = """SELECT name, jsonb_array_length(value::jsonb) as ticker_count
FROM cache_entries
WHERE type = 'themes';"""


def test_operators_verification_queries_run_verbatim_with_expected_figures(database_uri: str) -> None:
    insert(database_uri, sample_universe())
    add_entry(database_uri, "app_settings", "ui", "theme", '{"dark": true}')
    rebuild(get_engine(database_uri), CONFIG)
    counts = {(r[0], r[1]): r[2] for r in execute(database_uri, OPERATOR_COUNTS)}
    assert counts[("stock_universe", "market_cap")] == 5
    assert counts[("stock_universe", "sector_leaders")] == 6
    assert counts[("stock_universe", "market_leaders")] == 5
    assert counts[("stock_universe", "themes")] == len(CONFIG.themes)
    assert counts[("stock_universe", "industry")] == len(CONFIG.industries)
    assert counts[("stock_universe", "complete")] == 2
    assert counts[("etf_universe", "complete")] == 3
    assert counts[("etf_universe", "Broad Market ETFs")] == 2
    assert counts[("stock_stats", "universe")] == 1
    assert counts[("themes", "AI")] == 1 and counts[("themes", "EV")] == 1

    assert counts[("app_settings", "ui")] == 1
    buckets = dict(execute(database_uri, OPERATOR_BUCKETS))
    assert buckets == {"mega_cap": "3", "large_cap": "2", "mid_cap": "3", "small_cap": "1", "micro_cap": "1"}

    themes = dict(execute(database_uri, OPERATOR_THEMES))
    assert set(themes) == {t.display_name for t in CONFIG.themes.values()}
    assert themes["AI"] == 2 and themes["Semi"] == 2 and themes["Space"] == 0  # NVDA, MSFT / NVDA, TSM


def test_replace_leaves_exactly_the_produced_entries_and_protected_rows_byte_for_byte(loaded: str) -> None:
    add_entry(loaded, "stock_universe", "custom", "my_list", '["AAPL"]')
    add_entry(loaded, "stock_etf_combo", "combo", "x", '{"a": 1}')
    add_entry(loaded, "themes", "Old Theme", "list", '["AAPL"]')
    before = _protected(loaded)
    done = rebuild(get_engine(loaded), CONFIG)
    produced = {(e.type, e.name, e.key) for es in done.entries.values() for e in es}
    assert set(cache_values(loaded)) - {("app_settings", "ui", "theme"), ("cache_config", "cache", "ttl"),
                                        ("mystery_type", "x", "y")} == produced
    assert _protected(loaded) == before
    assert done.result.protected_unchanged and done.result.protected_rows == 4
    deleted = {c.ident: c for c in done.result.changes if c.status == "deleted"}
    assert deleted["stock_universe|custom|my_list"].removed == ["AAPL"]
    assert deleted["themes|Old Theme|list"].removed == ["AAPL"]
    assert "stock_etf_combo|combo|x" in deleted  # not a universe, still listed as deleted


def test_append_upserts_and_keeps_entries_it_does_not_produce(loaded: str) -> None:
    add_entry(loaded, "stock_universe", "custom", "my_list", '["AAPL"]')
    add_entry(loaded, "stock_universe", "market_cap", "mega_cap",
              '{"count": 1, "stocks": [{"ticker": "OLD"}]}')
    before = _protected(loaded)
    done = rebuild(get_engine(loaded), CONFIG, mode="append")
    values = cache_values(loaded)
    assert values[("stock_universe", "custom", "my_list")] == ["AAPL"]
    assert [s["ticker"] for s in values[("stock_universe", "market_cap", "mega_cap")]["stocks"]] == [
        "AAPL", "MSFT", "NVDA"]
    assert done.result.total("deleted") == 0 and _protected(loaded) == before
    mega = next(c for c in done.result.changes if c.ident == "stock_universe|market_cap|mega_cap")
    assert (mega.status, mega.added, mega.removed) == ("changed", ["AAPL", "MSFT", "NVDA"], ["OLD"])


def test_unchanged_rows_are_not_rewritten_and_changed_rows_keep_created_at(loaded: str) -> None:
    engine = get_engine(loaded)
    rebuild(engine, CONFIG)
    first = {r[1:4]: r for r in raw_rows(loaded)}
    time.sleep(0.01)
    again = rebuild(engine, CONFIG)
    assert again.result.total("inserted") == again.result.total("updated") == 0
    assert again.result.changes == []
    assert {r[1:4]: r for r in raw_rows(loaded)} == first  # ids, values and both timestamps

    execute(loaded, "UPDATE symbols SET market_cap = 250e9 WHERE symbol = 'JPM'")
    third = rebuild(engine, CONFIG)
    after = {r[1:4]: r for r in raw_rows(loaded)}
    mega, large = ("stock_universe", "market_cap", "mega_cap"), ("stock_universe", "market_cap", "large_cap")
    for ident in (mega, large):
        assert after[ident][0] == first[ident][0] and after[ident][6] == first[ident][6]  # id, created_at
        assert after[ident][7] > first[ident][7]  # updated_at moved
    small = ("stock_universe", "market_cap", "small_cap")
    assert after[small] == first[small]
    changes = {c.ident: (c.added, c.removed) for c in third.result.changes}
    assert changes["stock_universe|market_cap|mega_cap"] == (["JPM"], [])
    assert changes["stock_universe|market_cap|large_cap"] == ([], ["JPM"])


def test_subset_commit_touches_only_the_selected_families(loaded: str) -> None:
    engine = get_engine(loaded)
    rebuild(engine, CONFIG)
    add_entry(loaded, "themes", "Stale", "list", '["AAPL"]')
    add_entry(loaded, "stock_universe", "custom", "kept", '["AAPL"]')
    others = [r for r in raw_rows(loaded) if r[1] != "themes" and r[2] != "themes"]
    config = CONFIG.model_copy(update={"themes": {"ai": Theme(display_name="AI", tickers=["NVDA"])}})
    done = rebuild(engine, config, families=["themes"])
    assert [r for r in raw_rows(loaded) if r[1] != "themes" and r[2] != "themes"] == others
    themes = {k for k in cache_values(loaded) if k[0] == "themes" or k[1] == "themes"}
    assert themes == {("themes", "AI", "list"), ("stock_universe", "themes", "ai")}
    assert done.result.families == ["themes"]
    assert "themes|Stale|list" in {c.ident for c in done.result.changes}


def test_rebuild_failing_halfway_leaves_the_previous_cache(loaded: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine(loaded)
    rebuild(engine, CONFIG)
    before = raw_rows(loaded)
    execute(loaded, "UPDATE symbols SET market_cap = 1e9 WHERE symbol IN ('AAPL', 'MSFT')")
    add_entry(loaded, "stock_universe", "custom", "doomed", '["AAPL"]')
    before = raw_rows(loaded)

    def fail_after_upsert(conn: sa.Connection, ids: list[int]) -> None:
        # The upsert has run in this transaction; now the database fails.
        conn.execute(sa.text("SELECT 1 / 0"))

    monkeypatch.setattr(commit_module, "_delete_rows", fail_after_upsert)
    with pytest.raises(sa.exc.DataError):
        rebuild(engine, CONFIG)
    assert raw_rows(loaded) == before


def test_a_family_builder_raising_writes_nothing(loaded: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = get_engine(loaded)
    before = raw_rows(loaded)

    def broken(symbols, config):
        raise RuntimeError("builder broke")

    monkeypatch.setitem(FAMILIES, "industry", broken)
    with pytest.raises(RuntimeError, match="builder broke"):
        rebuild(engine, CONFIG)
    assert raw_rows(loaded) == before


def test_unserialisable_value_rolls_back(loaded: str) -> None:
    before = raw_rows(loaded)
    entries = {"themes": [CacheEntry("themes", "AI", "list", ["NVDA"]),
                          CacheEntry("stock_universe", "themes", "ai", [float("nan")])]}
    with pytest.raises(ValueError):
        commit_entries(get_engine(loaded), entries)
    assert raw_rows(loaded) == before


def test_two_concurrent_rebuilds_serialise_to_one_consistent_state(loaded: str) -> None:
    configs = {
        "a": CONFIG.model_copy(update={"themes": {f"a{i}": Theme(display_name=f"A{i}", tickers=["AAPL"])
                                                  for i in range(5)}}),
        "b": CONFIG.model_copy(update={"themes": {f"b{i}": Theme(display_name=f"B{i}", tickers=["MSFT"])
                                                  for i in range(7)}}),
    }
    engine = get_engine(loaded)

    def run(name: str, barrier: threading.Barrier, errors: list[Exception]) -> None:
        try:
            barrier.wait()
            rebuild(engine, configs[name])
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    for _ in range(4):
        barrier, errors = threading.Barrier(2), []
        threads = [threading.Thread(target=run, args=(n, barrier, errors)) for n in configs]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors
        names = {k[1] for k in cache_values(loaded) if k[0] == "themes"}
        assert names in ({f"A{i}" for i in range(5)}, {f"B{i}" for i in range(7)})
        keys = {k[2] for k in cache_values(loaded) if k[:2] == ("stock_universe", "themes")}
        assert keys == {n.lower() for n in names}


def test_advisory_lock_blocks_a_second_commit_until_the_first_ends(loaded: str) -> None:
    engine = get_engine(loaded)
    holder = engine.connect()
    tx = holder.begin()
    holder.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": commit_module.ADVISORY_LOCK_KEY})
    finished = threading.Event()
    thread = threading.Thread(target=lambda: (rebuild(engine, CONFIG, families=["stats"]), finished.set()))
    thread.start()
    assert not finished.wait(0.5)
    assert ("stock_stats", "universe", "summary") not in cache_values(loaded)
    tx.rollback()
    holder.close()
    assert finished.wait(30)
    thread.join()
    assert ("stock_stats", "universe", "summary") in cache_values(loaded)


def test_deleted_universe_lists_every_ticker_removed(loaded: str) -> None:
    engine = get_engine(loaded)
    rebuild(engine, CONFIG)
    execute(loaded, "UPDATE symbols SET active = false WHERE symbol = 'TINY'")
    insert(loaded, [stock("NEWT", 150 * B, "Technology")])
    done = rebuild(engine, CONFIG)
    changes = {c.ident: c for c in done.result.changes}
    energy = changes["stock_universe|sector_leaders|top_10_energy"]
    assert (energy.status, energy.removed, energy.added) == ("deleted", ["TINY"], [])
    assert changes["stock_universe|sector_leaders|top_10_technology"].added == ["NEWT"]
    assert ("stock_universe", "sector_leaders", "top_10_energy") not in cache_values(loaded)


def test_other_environments_are_independent(loaded: str) -> None:
    engine = get_engine(loaded)
    rebuild(engine, CONFIG, environment="STAGING")
    staging = cache_values(loaded, "STAGING")
    assert staging[("stock_universe", "market_cap", "mega_cap")]["count"] == 3
    assert ("stock_universe", "market_cap", "mega_cap") not in cache_values(loaded)
    default_before = raw_rows(loaded)
    rebuild(engine, CONFIG, environment="STAGING")
    assert raw_rows(loaded) == default_before
