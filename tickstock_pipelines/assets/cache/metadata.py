"""Run metadata for one family: what was written, what changed, a preview and, for buckets, a chart."""

from __future__ import annotations

from typing import Any

from dagster import MetadataValue

from tickstock_pipelines.cache.commit import UNOWNED, CommitResult
from tickstock_pipelines.cache.entries import CacheEntry, tickers_of
from tickstock_pipelines.notifications import Delivery

_PREVIEW_ROWS = 40
_CHANGE_ROWS = 40
_BAR_WIDTH = 30


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|")


def _count(value: Any) -> int | str:
    if isinstance(value, dict) and isinstance(value.get("count"), int):
        return value["count"]
    members = tickers_of(value)
    return "—" if members is None else len(members)


def preview_table(entries: list[CacheEntry]) -> str:
    lines = ["| type | name | key | count | first tickers |", "|---|---|---|---:|---|"]
    for e in entries[:_PREVIEW_ROWS]:
        first = ", ".join((tickers_of(e.value) or [])[:6])
        lines.append(f"| {_md_cell(e.type)} | {_md_cell(e.name)} | {_md_cell(e.key)} | {_count(e.value)} "
                     f"| {_md_cell(first)} |")
    if len(entries) > _PREVIEW_ROWS:
        lines.append(f"| … | | {len(entries) - _PREVIEW_ROWS} more | | |")
    return "\n".join(lines)


def changes_table(result: CommitResult, family: str) -> str:
    changes = result.changes_for(family)
    if not changes:
        return "No universe changed membership."
    lines = ["| universe | status | added | removed | sample |", "|---|---|---:|---:|---|"]
    for c in changes[:_CHANGE_ROWS]:
        sample = ", ".join([f"+{t}" for t in c.added[:4]] + [f"−{t}" for t in c.removed[:4]])
        lines.append(f"| {_md_cell(c.ident)} | {c.status} | {len(c.added)} | {len(c.removed)} | {sample} |")
    if len(changes) > _CHANGE_ROWS:
        lines.append(f"| … {len(changes) - _CHANGE_ROWS} more | | | | |")
    return "\n".join(lines)


def bar_chart(sizes: dict[str, int], label: str = "stocks") -> str:
    """A markdown bar chart with unicode blocks: readable in the UI without an image."""
    peak = max(sizes.values(), default=0) or 1
    blocks = " ▏▎▍▌▋▊▉█"
    lines = [f"| bucket | {label} | |", "|---|---:|---|"]
    for key, n in sizes.items():
        eighths = round(n / peak * _BAR_WIDTH * 8)
        bar = "█" * (eighths // 8) + (blocks[eighths % 8] if eighths % 8 else "")
        lines.append(f"| {key} | {n} | `{bar or '▏'}` |")
    return "\n".join(lines)


def family_metadata(family: str, entries: list[CacheEntry], result: CommitResult, notified: Delivery,
                    *, seconds: float, config_digest: str, config_path: str | None) -> dict[str, Any]:
    counts = result.counts[family]
    changes = result.changes_for(family)
    metadata: dict[str, Any] = {
        "dagster/row_count": len(entries),
        "entries_written": len(entries),
        "rows_inserted": counts["inserted"],
        "rows_updated": counts["updated"],
        "rows_unchanged": counts["unchanged"],
        "rows_deleted": counts["deleted"],
        "universes_changed": len(changes),
        "tickers_added": sum(len(c.added) for c in changes),
        "tickers_removed": sum(len(c.removed) for c in changes),
        "universe_changes": MetadataValue.md(changes_table(result, family)),
        "preview": MetadataValue.md(preview_table(entries)),
        "mode": result.mode,
        "environment": result.environment,
        "families_in_commit": ", ".join(result.families),
        "build_seconds": round(seconds, 4),
        "config_digest": config_digest,
        "config_path": config_path or "",
        "redis_notified": notified.notified,
        "missed_notifications": MetadataValue.json(notified.missed),
    }
    if result.families and family == result.families[0]:
        # Rows of family-owned types that no family produces (custom universes) belong to no family;
        # the first family of the commit reports them once, so totals over families add up.
        metadata["custom_entries_deleted"] = result.counts[UNOWNED]["deleted"]
        metadata["custom_universes_changed"] = len(result.changes_for(UNOWNED))
    if family == "market_cap":
        sizes = {e.key: _count(e.value) for e in entries}
        metadata["bucket_sizes"] = MetadataValue.json(sizes)
        metadata["bucket_chart"] = MetadataValue.md(bar_chart({k: int(v) for k, v in sizes.items()}))
    if family == "stats" and entries:
        metadata["overview"] = MetadataValue.json(entries[0].value["overview"])
    return metadata
