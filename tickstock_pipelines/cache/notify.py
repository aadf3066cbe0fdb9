"""The cache rebuild's notification payloads (contract §8), sent only after the commit.

Sending and the Redis-down fallback live in `tickstock_pipelines.notifications`: every message that could
not be sent is kept in `missed_notifications` (nothing is lost) and returned, so the run's metadata shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tickstock_pipelines.cache.commit import CommitResult
from tickstock_pipelines.notifications import (
    ADMIN_CHANNEL,
    CACHE_CHANNEL,
    UNIVERSE_CHANNEL,
    Delivery,
    publish_all,
)
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

# The names the cache assets use for the shared delivery code.
NotifyOutcome = Delivery
send = publish_all

__all__ = ["ADMIN_CHANNEL", "CACHE_CHANNEL", "UNIVERSE_CHANNEL", "NotifyOutcome", "admin_message",
           "cache_updates_message", "failure_message", "notify_committed", "send", "universe_updates_message"]


def _timestamp(result: CommitResult) -> str:
    return (result.committed_at or datetime.now(UTC)).isoformat()


def cache_updates_message(result: CommitResult, run_id: str | None) -> dict[str, Any]:
    return {
        "event": "cache_rebuild_completed",
        "mode": result.mode,
        "environment": result.environment,
        "timestamp": _timestamp(result),
        "run_id": run_id,
        "families": result.families,
        # contract §8: "stats": {entries per family, deleted, …}, the families' counts at the top level
        "stats": {
            **{f: result.counts[f]["produced"] for f in result.families},
            "total_entries": result.total("produced"),
            "inserted": result.total("inserted"),
            "updated": result.total("updated"),
            "unchanged": result.total("unchanged"),
            "deleted": result.total("deleted"),
            "universes_changed": len(result.changes),
        },
    }


def universe_updates_message(result: CommitResult, run_id: str | None) -> dict[str, Any]:
    """One message per rebuild: per changed `type|name|key`, the tickers added and removed."""
    return {
        "event": "universe_membership_changed",
        "mode": result.mode,
        "environment": result.environment,
        "timestamp": _timestamp(result),
        "run_id": run_id,
        "count": len(result.changes),
        "universes": {
            c.ident: {"status": c.status, "added": c.added, "removed": c.removed} for c in result.changes
        },
    }


def admin_message(result: CommitResult, run_id: str | None) -> dict[str, Any]:
    summary = (f"cache rebuild ({result.mode}, {result.environment}) committed {result.total('produced')} "
               f"entries: {result.total('inserted')} new, {result.total('updated')} changed, "
               f"{result.total('unchanged')} unchanged, {result.total('deleted')} deleted; "
               f"{len(result.changes)} universes changed")
    return {"event": "cache_rebuild_completed", "status": "success", "run_id": run_id,
            "timestamp": _timestamp(result), "families": result.families, "summary": summary}


def failure_message(error: str, *, mode: str, environment: str, families: list[str],
                    run_id: str | None) -> dict[str, Any]:
    return {"event": "cache_rebuild_failed", "status": "failure", "run_id": run_id, "mode": mode,
            "environment": environment, "families": families, "timestamp": datetime.now(UTC).isoformat(),
            "error": error[:500], "summary": "cache rebuild failed; the previous cache is intact"}


def notify_committed(redis: RedisResource, database: DatabaseResource, result: CommitResult,
                     *, run_id: str | None) -> Delivery:
    """cache_updates, then universe_updates, then admin_notifications."""
    return publish_all(redis, database, [
        (CACHE_CHANNEL, cache_updates_message(result, run_id)),
        (UNIVERSE_CHANNEL, universe_updates_message(result, run_id)),
        (ADMIN_CHANNEL, admin_message(result, run_id)),
    ], run_id=run_id)
