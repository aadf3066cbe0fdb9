"""Themes, written twice as the app reads them: `themes|<Display>|list` and `stock_universe|themes|<key>`.

Members are the configured tickers that are active in `symbols`, in configured order; any type counts
(an ADR such as TSM belongs to Semi), inactive and unknown tickers are skipped.
"""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry


def members(symbols: pd.DataFrame, configured: list[str]) -> list[str]:
    active = set(symbols.loc[symbols["active"], "symbol"].tolist())
    return [t for t in dict.fromkeys(configured) if t in active]


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    active = set(symbols.loc[symbols["active"], "symbol"].tolist())
    entries = []
    for key, theme in config.themes.items():
        tickers = [t for t in dict.fromkeys(theme.tickers) if t in active]
        # Display names are written as configured, never re-cased (AI, EV, Biotech).
        entries.append(CacheEntry("themes", theme.display_name, "list", tickers))
        entries.append(CacheEntry("stock_universe", "themes", key, list(tickers)))
    return entries
