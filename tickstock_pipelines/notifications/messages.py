"""The shape of every message: built here, sent by `delivery.publish_all`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tickstock_pipelines.redaction import redact

if TYPE_CHECKING:
    from tickstock_pipelines.cache.commit import CommitResult


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _committed_at(result: CommitResult) -> str:
    return (result.committed_at or datetime.now(UTC)).isoformat()


def run_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags an operator reads in a message (priority and ours), not Dagster's bookkeeping."""
    return {k: v for k, v in tags.items() if k.startswith(("dagster/priority", "tickstock/"))}


def cache_updates_message(result: CommitResult, run_id: str | None) -> dict[str, Any]:
    return {
        "event": "cache_rebuild_completed",
        "mode": result.mode,
        "environment": result.environment,
        "timestamp": _committed_at(result),
        "run_id": run_id,
        "families": result.families,
        # TickStock reads "stats": {entries per family, deleted, …}, the families' counts at the top level
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
        "timestamp": _committed_at(result),
        "run_id": run_id,
        "count": len(result.changes),
        "universes": {
            c.ident: {"status": c.status, "added": c.added, "removed": c.removed} for c in result.changes
        },
    }


def rebuild_completed_message(result: CommitResult, run_id: str | None) -> dict[str, Any]:
    summary = (f"cache rebuild ({result.mode}, {result.environment}) committed {result.total('produced')} "
               f"entries: {result.total('inserted')} new, {result.total('updated')} changed, "
               f"{result.total('unchanged')} unchanged, {result.total('deleted')} deleted; "
               f"{len(result.changes)} universes changed")
    return {"event": "cache_rebuild_completed", "status": "success", "run_id": run_id,
            "timestamp": _committed_at(result), "families": result.families, "summary": summary}


def rebuild_failed_message(error: str, *, mode: str, environment: str, families: list[str],
                           run_id: str | None) -> dict[str, Any]:
    return {"event": "cache_rebuild_failed", "status": "failure", "run_id": run_id, "mode": mode,
            "environment": environment, "families": families, "timestamp": _now(),
            "error": redact(error)[:500], "summary": "cache rebuild failed; the previous cache is intact"}


def load_message(run_id: str | None, *, success: bool, summary: str, error: str | None = None,
                 **details: Any) -> dict[str, Any]:
    """A load's outcome, shaped like the rebuild's: event, status, run_id, timestamp, summary (and error
    when it failed), then what the load asked for and did."""
    message: dict[str, Any] = {
        "event": "load_completed" if success else "load_failed",
        "status": "success" if success else "failure",
        "run_id": run_id,
        "timestamp": _now(),
        "summary": redact(summary)[:1000],
    }
    if not success:
        message["error"] = redact(error or summary)[:500]
    return {**message, **details}


def run_message(*, outcome: str, job: str, run_id: str, status: str, tags: Mapping[str, str],
                stats: Any, error: str | None = None) -> dict[str, Any]:
    """A daemon-launched run's outcome (`run_succeeded` / `run_failed`) with Dagster's run stats."""
    message: dict[str, Any] = {
        "event": f"run_{outcome}",
        "job": job,
        "run_id": run_id,
        "status": status,
        "timestamp": _now(),
        "tags": run_tags(tags),
        "steps_succeeded": stats.steps_succeeded,
        "steps_failed": stats.steps_failed,
        "materializations": stats.materializations,
        "duration_seconds": round(stats.end_time - stats.start_time, 3)
        if stats.end_time and stats.start_time else None,
    }
    if error is not None:
        message["error"] = redact(error)[:500]
    return message


def theme_review_message(report: list[dict[str, Any]], problems: int, run_id: str) -> dict[str, Any]:
    return {"event": "theme_review", "timestamp": _now(), "run_id": run_id, "themes": len(report),
            "tickers_to_review": problems, "report": report}
