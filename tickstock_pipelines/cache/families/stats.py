"""`stock_stats|universe|summary`: totals the app shows on its overview page.

`last_updated` is the newest `symbols.last_updated` the summary was computed from, not the wall clock,
so rebuilding from unchanged symbols rewrites nothing.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.families.market_cap import bucket_bounds
from tickstock_pipelines.cache.views import (
    UNKNOWN_SECTOR,
    active_stocks,
    etfs,
    ordered_products,
    ranked_stocks,
    sectors,
)


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(float(value), 2)


def overview(symbols: pd.DataFrame, config: CacheConfig) -> dict[str, Any]:
    stocks, ranked = active_stocks(symbols), ranked_stocks(symbols)
    active = symbols[symbols["active"]]
    total_cap = float(ranked["market_cap"].sum())
    stamp = active["last_updated"].max()
    real_sectors = set(sectors(stocks)) - {UNKNOWN_SECTOR}
    return {
        "total_stocks": len(stocks),
        "stocks_with_market_cap": len(ranked),
        "total_etfs": len(etfs(symbols)),
        "total_etps": len(ordered_products(symbols, config.complete.etp_types)),
        "total_market_cap": _number(total_cap),
        "average_market_cap": _number(total_cap / len(ranked)) if len(ranked) else 0,
        "median_market_cap": _number(ranked["market_cap"].median()) if len(ranked) else 0,
        "unique_sectors": len(real_sectors),
        "unique_industries": int(stocks["industry"].dropna().nunique()),
        "unique_exchanges": int(stocks["primary_exchange"].dropna().nunique()),
        "inactive_symbols": int((~symbols["active"]).sum()),
        "last_updated": None if pd.isna(stamp) else stamp.isoformat(),
    }


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    ranked = ranked_stocks(symbols)
    by_sector = sectors(ranked)
    sector_table = {
        sector: {"count": int((by_sector == sector).sum()),
                 "market_cap": _number(ranked.loc[by_sector == sector, "market_cap"].sum())}
        for sector in sorted(set(by_sector))
    }
    cap = ranked["market_cap"]
    buckets = {key: int(((cap >= low) & (cap < high)).sum()) for key, low, high in bucket_bounds(config)}
    value = {"overview": overview(symbols, config), "sectors": sector_table, "market_cap_buckets": buckets}
    return [CacheEntry("stock_stats", "universe", "summary", value)]
