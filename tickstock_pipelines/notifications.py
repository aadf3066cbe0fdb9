"""Publish JSON to Redis; when Redis is down the message is kept in `missed_notifications`, never lost.

This is the one place that talks to Redis for notifications and records what it could not send: the
run-status sensors, the theme review and the cache rebuild all go through `publish` / `publish_all`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
import sqlalchemy as sa

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

CACHE_CHANNEL = "cache_updates"
UNIVERSE_CHANNEL = "universe_updates"
ADMIN_CHANNEL = "admin_notifications"


@dataclass
class Delivery:
    """What reached Redis and what was recorded as missed ({"channel", "error"}), in order."""

    delivered: list[str] = field(default_factory=list)
    missed: list[dict[str, str]] = field(default_factory=list)

    @property
    def notified(self) -> bool:
        return not self.missed


def publish_all(
    redis: RedisResource, database: DatabaseResource, messages: Sequence[tuple[str, dict[str, Any]]],
    *, run_id: str | None = None,
) -> Delivery:
    """Publish in order on one connection; after the first failure the rest are recorded without retrying.

    Retrying each would wait out its own connect timeout against a Redis that is down, and subscribers
    must see the messages in order or not at all.
    """
    delivery = Delivery()
    client: redis_lib.Redis | None = None
    error: str | None = None
    try:
        for channel, payload in messages:
            text = json.dumps(payload, default=str)
            if error is None:
                try:
                    client = client or redis.get_client()
                    client.publish(channel, text)
                    delivery.delivered.append(channel)
                    continue
                except (redis_lib.RedisError, OSError) as exc:
                    error = f"{type(exc).__name__}: {exc}"
            record_missed(database, channel, text, error, run_id)
            delivery.missed.append({"channel": channel, "error": error})
    finally:
        if client is not None:
            client.close()
    return delivery


def publish(
    redis: RedisResource, database: DatabaseResource, channel: str, payload: dict[str, Any],
    *, run_id: str | None = None,
) -> bool:
    """True if Redis took the message; otherwise it is recorded as missed and False is returned."""
    return publish_all(redis, database, [(channel, payload)], run_id=run_id).notified


def record_missed(database: DatabaseResource, channel: str, message: str, error: str,
                  run_id: str | None) -> None:
    with database.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO missed_notifications (channel, payload, error, run_id) "
                "VALUES (:channel, CAST(:payload AS jsonb), :error, :run_id)"
            ),
            {"channel": channel, "payload": message, "error": error[:1000], "run_id": run_id},
        )
