"""`stock_universe|market_leaders|top_10_stocks, top_50, …`: the largest stocks by market cap."""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import ranked_stocks, universe


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    stocks = ranked_stocks(symbols)
    return [
        CacheEntry("stock_universe", "market_leaders", leaders.key, universe(stocks.head(leaders.size)))
        for leaders in config.market_leaders
    ]
