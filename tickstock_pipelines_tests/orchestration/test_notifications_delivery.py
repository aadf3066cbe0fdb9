"""Missed messages (Redis was down) are delivered once, oldest first, by the next process that reaches
Redis: real PostgreSQL for the store and its lock, real Redis for the subscriber."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from dagster import SkipReason, build_sensor_context

from tickstock_pipelines.notifications import deliver_missed, publish_all
from tickstock_pipelines.notifications.sensors import deliver_missed_notifications
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.redis_helpers import heard

CHANNELS = ("cache_updates", "universe_updates", "admin_notifications")


@pytest.fixture
def subscriber(redis_client):
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(*CHANNELS)
    while pubsub.get_message(timeout=1) is not None:
        pass
    yield pubsub
    pubsub.close()


def _down(tmp_path: Path) -> RedisResource:
    return RedisResource(url=f"unix://{tmp_path}/nobody-listens.sock", socket_timeout_seconds=0.5)


def _store(database_uri: str, count: int) -> None:
    """`count` missed messages, as Redis-down publishes leave them."""
    with sa.create_engine(database_uri).begin() as conn:
        conn.execute(sa.text("INSERT INTO missed_notifications (channel, payload, error) "
                             "SELECT 'admin_notifications', json_build_object('n', n), 'down' "
                             "FROM generate_series(1, :count) AS n"), {"count": count})


def _undelivered(database_uri: str) -> int:
    with sa.create_engine(database_uri).connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM missed_notifications WHERE delivered_at IS NULL")).scalar_one()


def test_missed_messages_go_out_oldest_first_before_the_next_message_and_only_once(
        database_uri: str, redis_url: str, subscriber, tmp_path: Path) -> None:
    database, up = DatabaseResource(uri=database_uri), RedisResource(url=redis_url)
    first = publish_all(_down(tmp_path), database,
                        [("cache_updates", {"n": 1}), ("universe_updates", {"n": 2})], run_id="run-1")
    second = publish_all(_down(tmp_path), database, [("admin_notifications", {"n": 3})], run_id="run-2")
    assert [m["channel"] for m in first.missed + second.missed] == list(CHANNELS)
    assert heard(subscriber, quiet=0.5) == []

    now = publish_all(up, database, [("admin_notifications", {"n": 4})])
    assert now.notified and now.backlog == 3
    assert [m["n"] for m in heard(subscriber)] == [1, 2, 3, 4]
    assert _undelivered(database_uri) == 0

    publish_all(up, database, [("admin_notifications", {"n": 5})])
    assert [m["n"] for m in heard(subscriber)] == [5]  # delivered ones are not sent again


def test_two_processes_delivering_at_once_send_each_message_once_in_order(
        database_uri: str, redis_url: str, subscriber) -> None:
    _store(database_uri, 300)
    database, up = DatabaseResource(uri=database_uri), RedisResource(url=redis_url)
    start, counts = threading.Barrier(4), []

    def deliver() -> None:
        start.wait()
        counts.append(deliver_missed(up, database))

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    numbers = [m["n"] for m in heard(subscriber)]
    assert numbers == list(range(1, 301)) and sum(counts) == 300
    assert _undelivered(database_uri) == 0


def test_redis_still_down_keeps_them_and_the_daemon_sensor_delivers_them_once_it_is_back(
        database_uri: str, redis_url: str, subscriber, tmp_path: Path) -> None:
    _store(database_uri, 3)
    database = DatabaseResource(uri=database_uri)
    assert deliver_missed(_down(tmp_path), database) == 0 and _undelivered(database_uri) == 3

    context = build_sensor_context(resources={"database": database, "redis": RedisResource(url=redis_url)})
    result = deliver_missed_notifications(context)
    assert isinstance(result, SkipReason) and result.skip_message == "delivered 3 missed notifications"
    assert [m["n"] for m in heard(subscriber)] == [1, 2, 3]
    with sa.create_engine(database_uri).connect() as conn:
        stored = conn.execute(sa.text("SELECT payload, delivered_at FROM missed_notifications")).all()
    assert all(row.delivered_at is not None for row in stored)
    assert json.loads(json.dumps(stored[0].payload)) == {"n": 1}
