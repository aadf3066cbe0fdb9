"""`etf_universe|<Display>|<key>` (ticker array) and `<key>_detailed` (`{"count", "etfs"}`) per category.

An ETF is in a category when it is listed there explicitly, or its name or underlying index matches a
pattern and its name matches no exclude pattern; a category with `every_etf` (etf_all) holds every ETF.
Only active type ETF; order is AUM, then dollar volume.
"""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig, EtfCategory
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import TextIndex, etf_objects, etfs, tickers


def matches(products: pd.DataFrame, category: EtfCategory,
            names: TextIndex | None = None, indexes: TextIndex | None = None) -> pd.Series:
    if category.every_etf:
        return pd.Series(True, index=products.index)
    names = names or TextIndex(products["name"])
    indexes = indexes or TextIndex(products["underlying_index"])
    by_rule = names.matches(category.name_patterns) | indexes.matches(category.underlying_index_patterns)
    by_rule &= ~names.matches(category.exclude_name_patterns)
    return (products["symbol"].isin(category.tickers) | by_rule).astype(bool)


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    products = etfs(symbols)
    names, indexes = TextIndex(products["name"]), TextIndex(products["underlying_index"])
    entries = []
    for key, category in config.etf_categories.items():
        selected = products[matches(products, category, names, indexes)]
        details = etf_objects(selected)
        entries.append(CacheEntry("etf_universe", category.display_name, key, tickers(selected)))
        entries.append(CacheEntry("etf_universe", category.display_name, f"{key}_detailed",
                                  {"count": len(details), "etfs": details}))
    return entries
