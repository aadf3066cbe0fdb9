"""Publish JSON to Redis; when Redis is down the message is kept in `missed_notifications`, never lost.

This is the one place that talks to Redis for notifications and records what it could not send: the
run-status sensors, the theme review, the cache rebuild and `tickstock load` all go through `publish` /
`publish_all`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis as redis_lib
import sqlalchemy as sa

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

CACHE_CHANNEL = "cache_updates"
UNIVERSE_CHANNEL = "universe_updates"
ADMIN_CHANNEL = "admin_notifications"

# A run carrying this tag has its outcome published by the process that launched it (`tickstock load`,
# or the reaper when that process died): the run-status sensors skip it, so no outcome is sent twice.
NOTIFIED_BY_TAG, NOTIFIED_BY_CLI = "tickstock/notified_by", "cli"


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


def load_message(run_id: str | None, *, success: bool, summary: str, error: str | None = None,
                 **details: Any) -> dict[str, Any]:
    """A load's outcome on admin_notifications, shaped like the cache rebuild's: event, status, run_id,
    timestamp, summary (and error when it failed), then what the load asked for and did."""
    from tickstock_pipelines.redaction import redact

    message: dict[str, Any] = {
        "event": "load_completed" if success else "load_failed",
        "status": "success" if success else "failure",
        "run_id": run_id,
        "timestamp": datetime.now(UTC).isoformat(),
        "summary": redact(summary)[:1000],
    }
    if not success:
        message["error"] = redact(error or summary)[:500]
    return {**message, **details}


def notify_admin(message: dict[str, Any], *, run_id: str | None) -> Delivery:
    """One admin message from outside a run (`tickstock load`, the dead-run reaper), on the resources'
    defaults (REDIS_URL / DATABASE_URI or the embedded servers)."""
    return publish_all(RedisResource(), DatabaseResource(), [(ADMIN_CHANNEL, message)], run_id=run_id)


def notify_run_reaped(run_id: str, job_name: str, tags: Mapping[str, str], reason: str) -> None:
    """A dead `tickstock load`'s failure (its process cannot say it any more); never raises: reaping must
    go on even when neither Redis nor the database can take the message."""
    import logging

    command = tags.get("tickstock/command", job_name)
    message = load_message(run_id, success=False, summary=f"{command} failed: {reason}", error=reason,
                           job=job_name, tags={k: v for k, v in tags.items()
                                               if k.startswith(("dagster/priority", "tickstock/"))})
    try:
        notify_admin(message, run_id=run_id)
    except Exception as exc:
        logging.getLogger(__name__).warning("could not publish or record the failure of dead run %s: %s",
                                            run_id, exc)


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
