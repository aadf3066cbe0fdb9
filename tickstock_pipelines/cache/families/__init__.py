"""The nine cache-entry families: name → pure builder, and which family owns an existing row."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.families import (
    combo,
    complete,
    etf_universes,
    industry,
    market_cap,
    market_leaders,
    sector_leaders,
    stats,
    themes,
)

Builder = Callable[[pd.DataFrame, CacheConfig], list[CacheEntry]]

FAMILIES: dict[str, Builder] = {
    "market_cap": market_cap.build,
    "sector_leaders": sector_leaders.build,
    "market_leaders": market_leaders.build,
    "themes": themes.build,
    "industry": industry.build,
    "etf_universes": etf_universes.build,
    "complete": complete.build,
    "stats": stats.build,
    "combo": combo.build,
}
FAMILY_NAMES: tuple[str, ...] = tuple(FAMILIES)

_STOCK_UNIVERSE_NAMES = {"market_cap", "sector_leaders", "market_leaders", "themes", "industry", "complete"}


def family_of(type_: str, name: str) -> str | None:
    """The family that writes rows of (type, name); None for rows no family writes (custom universes)."""
    if type_ == "stock_universe":
        return name if name in _STOCK_UNIVERSE_NAMES else None
    if type_ == "themes":
        return "themes"
    if type_ == "etf_universe":
        return "complete" if name == "complete" else "etf_universes"
    if type_ == "stock_stats":
        return "stats" if name == "universe" else None
    if type_ == combo.TYPE:
        return "combo"  # the whole type: a replace rebuild leaves exactly the combo it produced
    return None


def build_families(symbols: pd.DataFrame, config: CacheConfig,
                   families: list[str] | tuple[str, ...] = FAMILY_NAMES) -> dict[str, list[CacheEntry]]:
    """Entries per family; a family's entries always belong to it (checked, so subset commits stay exact)."""
    out: dict[str, list[CacheEntry]] = {}
    for family in families:
        entries = FAMILIES[family](symbols, config)
        strays = [e.ident for e in entries if family_of(e.type, e.name) != family]
        if strays:
            raise ValueError(f"family {family} produced entries it does not own: {strays[:3]}")
        out[family] = entries
    return out
