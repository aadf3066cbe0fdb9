"""A database built with the old sector names: migration 0003 renames them, the next replace rebuild moves
the leaders keys, and universe_updates names both the old key (deleted) and the new one (created)."""

from __future__ import annotations

from alembic import command

from tickstock_pipelines.cache.config import load_config
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import alembic_config, upgrade
from tickstock_pipelines.notifications.messages import universe_updates_message
from tickstock_pipelines_tests.support.cache_fixtures import B, cache_values, execute, insert, stock


def _downgrade(uri: str, revision: str) -> None:
    with get_engine(uri).connect() as conn:
        command.downgrade(alembic_config(conn), revision)
        conn.commit()


OLD_ROWS = [
    stock("AMZN", 2000 * B, "Consumer Cyclical", sic_code="5961"),
    stock("COST", 400 * B, "Consumer Defensive", sic_code="5331"),
    stock("LIN", 200 * B, "Basic Materials", sic_code="2810"),
    stock("GOOGL", 2100 * B, "Communication Services", sic_code="7370"),   # old map: search and social
    stock("VEEV", 30 * B, "Healthcare", sic_code="7373"),                   # old map: one health-IT filer
    stock("V", 500 * B, "Financial Services", sic_code="7389"),             # old map: payment processors
    stock("JPM", 600 * B, "Financial Services", sic_code="6021"),           # unchanged
    stock("UNH", 450 * B, "Healthcare", sic_code="6324"),                   # unchanged
]


def test_old_names_are_migrated_and_the_next_rebuild_moves_the_keys(database_uri: str) -> None:
    _downgrade(database_uri, "0002")
    insert(database_uri, OLD_ROWS)
    engine = get_engine(database_uri)
    rebuild(engine, load_config(), families=["sector_leaders"])
    before = {k for (_, name, k) in cache_values(database_uri) if name == "sector_leaders"}
    assert {"top_10_consumer_cyclical", "top_10_consumer_defensive", "top_10_basic_materials"} <= before

    upgrade(database_uri)
    sectors = dict(execute(database_uri, "SELECT symbol, sector FROM symbols"))
    assert sectors == {"AMZN": "Consumer Discretionary", "COST": "Consumer Staples", "LIN": "Materials",
                       "GOOGL": "Technology", "VEEV": "Technology", "V": "Industrials",
                       "JPM": "Financial Services", "UNH": "Healthcare"}

    done = rebuild(engine, load_config(), families=["sector_leaders"])
    after = {k for (_, name, k) in cache_values(database_uri) if name == "sector_leaders"}
    assert after == {"top_10_consumer_discretionary", "top_10_consumer_staples", "top_10_materials",
                     "top_10_technology", "top_10_industrials", "top_10_financial_services",
                     "top_10_healthcare"}
    message = universe_updates_message(done.result, run_id="r")["universes"]
    prefix = "stock_universe|sector_leaders|"
    assert message[prefix + "top_10_consumer_cyclical"] == {"status": "deleted", "added": [],
                                                            "removed": ["AMZN"]}
    assert message[prefix + "top_10_consumer_discretionary"] == {"status": "created", "added": ["AMZN"],
                                                                 "removed": []}
    assert message[prefix + "top_10_communication_services"]["status"] == "deleted"
    assert message[prefix + "top_10_healthcare"] == {"status": "changed", "added": [], "removed": ["VEEV"]}
    stocks = cache_values(database_uri)[("stock_universe", "sector_leaders", "top_10_technology")]["stocks"]
    assert [(s["ticker"], s["sector"]) for s in stocks] == [("GOOGL", "Technology"), ("VEEV", "Technology")]


def test_the_migration_downgrades_to_the_old_names(database_uri: str) -> None:
    insert(database_uri, [stock("AMZN", 2000 * B, "Consumer Discretionary", sic_code="5961"),
                          stock("GOOGL", 2100 * B, "Technology", sic_code="7370")])
    _downgrade(database_uri, "0002")
    assert dict(execute(database_uri, "SELECT symbol, sector FROM symbols")) == {
        "AMZN": "Consumer Cyclical", "GOOGL": "Communication Services"}
