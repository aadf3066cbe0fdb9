"""`stock_universe|market_cap|<bucket>`: every ranked stock in exactly one bucket, lower bound inclusive."""

from __future__ import annotations

import math

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import ranked_stocks, universe


def bucket_bounds(config: CacheConfig) -> list[tuple[str, float, float]]:
    """(key, lower inclusive, upper exclusive) per bucket, highest first."""
    out, upper = [], math.inf
    for bucket in config.market_cap.buckets:
        out.append((bucket.key, bucket.min_market_cap, upper))
        upper = bucket.min_market_cap
    return out


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    stocks = ranked_stocks(symbols)
    cap = stocks["market_cap"]
    # Every bucket is written, empty ones too: readers get a stable set of keys.
    return [
        CacheEntry("stock_universe", "market_cap", key, universe(stocks[(cap >= low) & (cap < high)]))
        for key, low, high in bucket_bounds(config)
    ]
