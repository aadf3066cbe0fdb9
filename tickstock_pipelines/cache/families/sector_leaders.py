"""`stock_universe|sector_leaders|top_<n>_<sector slug>`: the n largest stocks of each sector present."""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry, slug
from tickstock_pipelines.cache.views import ranked_stocks, sectors, universe


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    stocks = ranked_stocks(symbols)
    by_sector = sectors(stocks)
    n = config.sector_leaders.top_n
    excluded = set(config.sector_leaders.excluded_sectors)
    entries = []
    for sector in sorted(set(by_sector) - excluded):
        leaders = stocks[by_sector == sector].head(n)
        entries.append(CacheEntry("stock_universe", "sector_leaders", f"top_{n}_{slug(sector)}",
                                  universe(leaders)))
    return entries
