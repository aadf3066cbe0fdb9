"""Sending to Redis and the store of what could not be sent (`missed_notifications`).

Every message goes through `publish_all`. It holds one PostgreSQL advisory lock while it first delivers
the missed messages, oldest first, marking each delivered, then sends its own: two processes never
deliver the same stored message, and subscribers hear messages in the order they were made.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis as redis_lib
import sqlalchemy as sa

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

_log = logging.getLogger(__name__)
_REDIS_ERRORS = (redis_lib.RedisError, OSError)
_LOCK = 0x7469636B_6E6F7469  # one advisory lock key: "tick" "noti"
_BATCH = 500
_TAKE, _TRY = "SELECT pg_advisory_lock(:key)", "SELECT pg_try_advisory_lock(:key)"


@dataclass
class Delivery:
    """What reached Redis and what was recorded as missed ({"channel", "error"}), in order; `backlog` is
    how many earlier missed messages were delivered first."""

    delivered: list[str] = field(default_factory=list)
    missed: list[dict[str, str]] = field(default_factory=list)
    backlog: int = 0

    @property
    def notified(self) -> bool:
        return not self.missed


@contextmanager
def _turn(database: DatabaseResource, *, wait: bool = True) -> Iterator[sa.Connection | None]:
    """An autocommit connection holding the delivery lock; None if the lock is taken (wait=False) or the
    database is unreachable (Redis may still take new messages: there is nothing to deliver from)."""
    try:
        conn = database.get_engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    except sa.exc.OperationalError as exc:
        _log.warning("missed notifications not checked: database unreachable (%s)", exc.orig)
        yield None
        return
    try:
        locked = conn.execute(sa.text(_TAKE if wait else _TRY), {"key": _LOCK}).scalar()
        try:
            yield conn if locked is not False else None
        finally:
            if locked is not False:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK})
    finally:
        conn.close()


def _deliver_backlog(conn: sa.Connection, send: Callable[[str, str], None]) -> int:
    """Send every undelivered stored message, oldest first; each is marked delivered as soon as Redis
    took it. A Redis error stops here (raised): the rest stay for the next process."""
    delivered = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, channel, payload::text AS payload FROM missed_notifications "
            "WHERE delivered_at IS NULL ORDER BY id LIMIT :n"), {"n": _BATCH}).all()
        for row in rows:
            send(row.channel, row.payload)
            conn.execute(sa.text("UPDATE missed_notifications SET delivered_at = now() "
                                 "WHERE id = :id AND delivered_at IS NULL"), {"id": row.id})
            delivered += 1
        if len(rows) < _BATCH:
            return delivered


def publish_all(redis: RedisResource, database: DatabaseResource,
                messages: Sequence[tuple[str, dict[str, Any]]], *, run_id: str | None = None) -> Delivery:
    """Deliver the missed messages, then these, in order on one connection. After the first Redis error
    the rest are recorded as missed without retrying: each retry would wait out its own connect timeout,
    and subscribers must hear messages in order."""
    delivery = Delivery()
    client: redis_lib.Redis | None = None

    def send(channel: str, text: str) -> None:
        nonlocal client
        client = client or redis.get_client()
        client.publish(channel, text)

    error: str | None = None
    with _turn(database) as conn:
        try:
            if conn is not None:
                delivery.backlog = _deliver_backlog(conn, send)
        except _REDIS_ERRORS as exc:
            error = f"{type(exc).__name__}: {exc}"
        try:
            for channel, payload in messages:
                text = json.dumps(payload, default=str)
                if error is None:
                    try:
                        send(channel, text)
                        delivery.delivered.append(channel)
                        continue
                    except _REDIS_ERRORS as exc:
                        error = f"{type(exc).__name__}: {exc}"
                record_missed(conn, database, channel, text, error, run_id)
                delivery.missed.append({"channel": channel, "error": error})
        finally:
            if client is not None:
                client.close()
    return delivery


def deliver_missed(redis: RedisResource, database: DatabaseResource, *, wait: bool = True) -> int:
    """Deliver the stored missed messages now (a daemon tick, a command with nothing of its own to send).
    Returns how many were delivered; 0 when Redis is still down or another process holds the turn."""
    with _turn(database, wait=wait) as conn:
        if conn is None:
            return 0
        client: redis_lib.Redis | None = None
        delivered = 0

        def send(channel: str, text: str) -> None:
            nonlocal client, delivered
            client = client or redis.get_client()
            client.publish(channel, text)
            delivered += 1

        try:
            _deliver_backlog(conn, send)
        except _REDIS_ERRORS as exc:
            _log.info("missed notifications kept: Redis unavailable (%s)", exc)
        finally:
            if client is not None:
                client.close()
        return delivered


def record_missed(conn: sa.Connection | None, database: DatabaseResource, channel: str, message: str,
                  error: str, run_id: str | None) -> None:
    statement = sa.text("INSERT INTO missed_notifications (channel, payload, error, run_id) "
                        "VALUES (:channel, CAST(:payload AS jsonb), :error, :run_id)")
    values = {"channel": channel, "payload": message, "error": error[:1000], "run_id": run_id}
    if conn is not None:
        conn.execute(statement, values)
        return
    with database.begin() as own:
        own.execute(statement, values)
