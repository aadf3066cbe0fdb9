"""Small metadata builders shared by the market-data assets: markdown tables and API-call counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from dagster import MetadataValue

PREVIEW_ROWS = 20


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[Any]],
                   limit: int = PREVIEW_ROWS) -> MetadataValue:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    rows = list(rows)
    for row in rows[:limit]:
        lines.append("| " + " | ".join("" if v is None else str(v).replace("|", "\\|") for v in row) + " |")
    if len(rows) > limit:
        lines.append(f"| … {len(rows) - limit} more |" + " |" * (len(columns) - 1))
    return MetadataValue.md("\n".join(lines))


def api_calls(before: Counter[str], after: Counter[str]) -> dict[str, Any]:
    """Requests sent in this step by endpoint (retries and 429s included: they spend the budget too)."""
    spent = after - before
    return {"api_calls": sum(spent.values()), "api_calls_by_endpoint": MetadataValue.json(dict(spent))}


def listed(items: Sequence[str], limit: int = 50) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … (+{len(items) - limit})" if len(items) > limit else "") if items else "none"


def announce_sandbox(context: Any, client: Any) -> None:
    """Every run that used the offline sandbox says so in its log."""
    if client.sandbox:
        context.log.warning("SANDBOX DATA: POLYGON_API_KEY is unset, so this step reads the offline "
                            "Polygon-compatible sandbox (synthetic bars), not the real API")
