"""Publish JSON to Redis; when Redis is down the message is kept in `missed_notifications`, never lost."""

from __future__ import annotations

import json
from typing import Any

import redis as redis_lib
import sqlalchemy as sa

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource


def publish(
    redis: RedisResource, database: DatabaseResource, channel: str, payload: dict[str, Any],
    *, run_id: str | None = None,
) -> bool:
    """True if Redis took the message; otherwise it is recorded as missed and False is returned."""
    message = json.dumps(payload, default=str)
    try:
        client = redis.get_client()
        try:
            client.publish(channel, message)
        finally:
            client.close()
        return True
    except (redis_lib.RedisError, OSError) as exc:
        record_missed(database, channel, message, f"{type(exc).__name__}: {exc}", run_id)
        return False


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
