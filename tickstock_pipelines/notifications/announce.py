"""Who says what: the few announcements made outside the sensors, each in one function."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from tickstock_pipelines.notifications.channels import (
    ADMIN_CHANNEL,
    CACHE_CHANNEL,
    NOTIFIED_BY_CACHE,
    NOTIFIED_BY_CLI,
    NOTIFIED_BY_TAG,
    UNIVERSE_CHANNEL,
)
from tickstock_pipelines.notifications.delivery import Delivery, publish_all
from tickstock_pipelines.notifications.messages import (
    cache_updates_message,
    load_message,
    rebuild_completed_message,
    rebuild_failed_message,
    run_tags,
    universe_updates_message,
)
from tickstock_pipelines.resources import DATABASE, REDIS, in_force
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

if TYPE_CHECKING:
    from tickstock_pipelines.cache.commit import CommitResult


def notify_committed(redis: RedisResource, database: DatabaseResource, result: CommitResult,
                     *, run_id: str | None, announce: bool) -> Delivery:
    """cache_updates, then universe_updates, then (when this run's outcome is the asset's to announce)
    admin_notifications; called only once the commit has returned."""
    messages = [(CACHE_CHANNEL, cache_updates_message(result, run_id)),
                (UNIVERSE_CHANNEL, universe_updates_message(result, run_id))]
    if announce:
        messages.append((ADMIN_CHANNEL, rebuild_completed_message(result, run_id)))
    return publish_all(redis, database, messages, run_id=run_id)


def notify_rebuild_failed(redis: RedisResource, database: DatabaseResource, error: str, *, mode: str,
                          environment: str, families: list[str], run_id: str | None) -> Delivery:
    message = rebuild_failed_message(error, mode=mode, environment=environment, families=families,
                                     run_id=run_id)
    return publish_all(redis, database, [(ADMIN_CHANNEL, message)], run_id=run_id)


def notify_admin(message: dict, *, run_id: str | None) -> Delivery:
    """One admin message from outside a run (`tickstock load`, the dead-run reaper), on the resources the
    definitions' variables set (REDIS_URL / DATABASE_URI, empty: the embedded servers)."""
    return publish_all(in_force(REDIS), in_force(DATABASE), [(ADMIN_CHANNEL, message)], run_id=run_id)


def announced_in_process(tags: Mapping[str, str]) -> bool:
    """Runs whose outcome the process running them announces (the CLI, or the cache asset in it): when
    that process dies, the reaper must say it instead."""
    return tags.get(NOTIFIED_BY_TAG) in (NOTIFIED_BY_CLI, NOTIFIED_BY_CACHE)


def notify_run_reaped(run_id: str, job_name: str, tags: Mapping[str, str], reason: str) -> None:
    """A dead CLI run's failure (its process cannot say it any more); never raises: reaping must go on
    even when neither Redis nor the database can take the message."""
    if tags.get(NOTIFIED_BY_TAG) == NOTIFIED_BY_CACHE:
        message = rebuild_failed_message(reason, mode=tags.get("tickstock/mode", "replace"),
                                         environment=tags.get("tickstock/environment", "DEFAULT"),
                                         families=[], run_id=run_id)
        message.update(job=job_name, tags=run_tags(tags))
    else:
        command = tags.get("tickstock/command", job_name)
        message = load_message(run_id, success=False, summary=f"{command} failed: {reason}", error=reason,
                               job=job_name, tags=run_tags(tags))
    try:
        notify_admin(message, run_id=run_id)
    except Exception as exc:
        logging.getLogger(__name__).warning("could not publish or record the failure of dead run %s: %s",
                                            run_id, exc)
