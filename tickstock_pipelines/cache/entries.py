"""The unit every family produces and the commit writes: one `cache_entries` row without its bookkeeping."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# Only these types belong to the rebuild; every other type (app_settings, cache_config,
# anything unknown) belongs to someone else and is never touched.
FAMILY_OWNED_TYPES: tuple[str, ...] = (
    "stock_universe", "etf_universe", "themes", "stock_stats", "stock_etf_combo",
)


@dataclass(frozen=True)
class CacheEntry:
    type: str
    name: str
    key: str
    value: Any

    @property
    def ident(self) -> str:
        """`type|name|key`: how notifications and reports name a universe."""
        return f"{self.type}|{self.name}|{self.key}"


def slug(text: str) -> str:
    """`Financial Services` → `financial_services`: lower-case, `&` → `and`, runs of
    non-alphanumerics → `_`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("&", " and ")).strip("_")


def tickers_of(value: Any) -> list[str] | None:
    """The member tickers of a universe value in any of its shapes; None for non-universe values (stats)."""
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    if isinstance(value, dict):
        for field in ("stocks", "etfs"):
            items = value.get(field)
            if isinstance(items, list):
                return [i["ticker"] for i in items if isinstance(i, dict) and "ticker" in i]
    return None


def by_ident(entries: Iterable[CacheEntry]) -> dict[str, CacheEntry]:
    return {e.ident: e for e in entries}
