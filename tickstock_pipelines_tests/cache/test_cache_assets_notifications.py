"""The cache assets' Redis notifications through Dagster on real PostgreSQL and Redis: after the commit,
in order, with changes; Redis down; a slow commit; runs the asset does not announce."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import dagster as dg
import redis as redis_lib
import sqlalchemy as sa

from tickstock_pipelines.assets.cache import cache_entries
from tickstock_pipelines.assets.cache.checks import CACHE_CHECKS
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.cache_fixtures import (
    cache_values,
    execute,
)
from tickstock_pipelines_tests.support.cache_runs import (
    CHANNELS,
    Subscriber,
    materialization_metadata,
    materialize_cache,
)


def test_redis_hears_after_the_commit_in_order_with_changes(resources: dict, instance, database_uri: str,
                                                            redis_client: redis_lib.Redis) -> None:
    with Subscriber(redis_client) as heard:
        result = materialize_cache(resources, instance)
    assert result.success
    assert [channel for channel, _ in heard] == CHANNELS
    messages = dict(heard)
    cache_updates = messages["cache_updates"]
    assert cache_updates["event"] == "cache_rebuild_completed" and cache_updates["mode"] == "replace"
    assert cache_updates["run_id"] == result.run_id
    written = {f: m["entries_written"] for f, m in materialization_metadata(result).items()}
    assert {f: cache_updates["stats"][f] for f in written} == written
    assert cache_updates["stats"]["total_entries"] == sum(written.values())
    assert cache_updates["stats"]["deleted"] == 0
    universes = messages["universe_updates"]["universes"]
    assert universes["stock_universe|market_cap|mega_cap"] == {
        "status": "created", "added": ["AAPL", "MSFT", "NVDA"], "removed": []}
    assert messages["admin_notifications"]["status"] == "success"
    assert execute(database_uri, "SELECT count(*) FROM missed_notifications")[0][0] == 0

    # A second, unchanged rebuild tells subscribers nothing changed.
    with Subscriber(redis_client) as heard:
        assert materialize_cache(resources, instance).success
    assert dict(heard)["universe_updates"]["universes"] == {}


def test_redis_down_run_succeeds_and_records_missed_notifications(resources: dict, instance,
                                                                  database_uri: str, tmp_path: Path) -> None:
    resources = {**resources, "redis": RedisResource(url=f"unix://{tmp_path}/no-redis.sock",
                                                     socket_timeout_seconds=0.5)}
    result = materialize_cache(resources, instance)
    assert result.success
    metadata = materialization_metadata(result)
    for family_metadata in metadata.values():
        assert family_metadata["redis_notified"] is False
        assert [m["channel"] for m in family_metadata["missed_notifications"]] == CHANNELS
    assert cache_values(database_uri)[("stock_universe", "market_cap", "mega_cap")]["count"] == 3  # committed
    rows = execute(database_uri, "SELECT channel, payload, error, run_id, delivered_at "
                                 "FROM missed_notifications ORDER BY id")
    assert [r.channel for r in rows] == CHANNELS
    assert all(r.run_id == result.run_id and r.delivered_at is None and r.error for r in rows)
    assert rows[0].payload["event"] == "cache_rebuild_completed"
    assert "stock_universe|market_cap|mega_cap" in rows[1].payload["universes"]


# Held open at COMMIT: a deferred constraint trigger sleeps once per transaction that writes cache_entries.
_SLOW_COMMIT = """
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('test.slept', true) IS DISTINCT FROM txid_current()::text THEN
        PERFORM set_config('test.slept', txid_current()::text, true);
        PERFORM pg_sleep(2);
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE OR DELETE ON cache_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


def test_subscribers_read_the_new_cache_when_the_message_arrives_even_with_a_slow_commit(
        resources: dict, instance, database_uri: str, redis_client: redis_lib.Redis) -> None:
    """The commit takes 2 s here; a subscriber that reads the database the moment cache_updates arrives
    must already see the rebuild's rows (publishing before COMMIT returns would show it the old cache)."""
    execute(database_uri, _SLOW_COMMIT)
    engine = sa.create_engine(database_uri)
    seen: list[int] = []
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe("cache_updates")
    while pubsub.get_message(timeout=1) is not None:
        pass

    def on_message() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not seen:
            if pubsub.get_message(timeout=0.05) is not None:
                with engine.connect() as conn:  # at once, as the application would
                    seen.append(conn.execute(sa.text(
                        "SELECT count(*) FROM cache_entries WHERE type = 'stock_universe'")).scalar_one())

    listener = threading.Thread(target=on_message, daemon=True)
    listener.start()
    started = time.monotonic()
    result = materialize_cache(resources, instance)
    listener.join(timeout=60)
    pubsub.close()
    assert result.success and time.monotonic() - started >= 2  # the commit was held open
    written = execute(database_uri, "SELECT count(*) FROM cache_entries WHERE type = 'stock_universe'")[0][0]
    assert written > 0 and seen == [written]
    engine.dispose()


def test_a_run_the_asset_does_not_announce_sends_the_data_messages_only(
        resources: dict, instance, redis_client: redis_lib.Redis) -> None:
    """A weekly refresh or a family materialized from the UI carries no notified_by tag: the run-status
    sensors announce its outcome, so the asset sends cache_updates and universe_updates, not a second
    admin message."""
    with Subscriber(redis_client) as heard:
        result = dg.materialize([cache_entries, *CACHE_CHECKS], resources=resources, instance=instance)
    assert result.success
    assert [channel for channel, _ in heard] == CHANNELS[:2]
