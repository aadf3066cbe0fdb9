"""Complete universes: top N with full objects for the app's tables, plain ticker arrays for lookups."""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import (
    active_stocks,
    etf_objects,
    etfs,
    ordered_products,
    ranked_stocks,
    tickers,
    universe,
)


def all_stock_tickers(symbols: pd.DataFrame) -> list[str]:
    """Every active stock: ranked by market cap, then those without one (alphabetically) last."""
    ranked = ranked_stocks(symbols)
    rest = active_stocks(symbols)
    rest = rest[~rest["symbol"].isin(ranked["symbol"])].sort_values("symbol")
    return tickers(ranked) + tickers(rest)


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    top_stocks, top_etfs = config.complete.stocks_top_n, config.complete.etfs_top_n
    all_etfs = etfs(symbols)
    leading = etf_objects(all_etfs.head(top_etfs))
    return [
        CacheEntry("stock_universe", "complete", f"top_{top_stocks}",
                   universe(ranked_stocks(symbols).head(top_stocks))),
        CacheEntry("stock_universe", "complete", "all_stocks", all_stock_tickers(symbols)),
        CacheEntry("etf_universe", "complete", f"top_{top_etfs}", {"count": len(leading), "etfs": leading}),
        CacheEntry("etf_universe", "complete", "all_etfs", tickers(all_etfs)),
        CacheEntry("etf_universe", "complete", "all_etps",
                   tickers(ordered_products(symbols, config.complete.etp_types))),
    ]
