"""`stock_etf_combo|stock_etf_test|combo_test` and `combo_test_detailed`: the universe TickStock's own
rebuild produced for testing stock and ETF views together.

`combo_test` is an array: the top N stocks by market cap, then the configured essential ETFs that are
loaded (active exchange-traded products, in configured order). `combo_test_detailed` holds the same
members as `{count, description, composition: {stocks, etfs}, stocks: [...], etfs: [...]}`, each member
tagged `"type": "stock"` or `"type": "etf"`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig, ComboConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import ordered_products, ranked_stocks, stock_objects, tickers, values

TYPE = "stock_etf_combo"


def essential_etfs(symbols: pd.DataFrame, config: CacheConfig) -> pd.DataFrame:
    """The configured essentials that are active products in `symbols`, in configured order."""
    products = ordered_products(symbols, config.complete.etp_types).set_index("symbol", drop=False)
    wanted = [t for t in dict.fromkeys(config.combo.essential_etfs) if t in products.index]
    return products.loc[wanted]


def _etf_objects(products: pd.DataFrame) -> list[dict[str, Any]]:
    fields = ("name", "symbol", "etf_type", "issuer", "primary_exchange", "market")
    columns = zip(*(values(products[f]) for f in fields), strict=True)
    return [{"name": n, "ticker": t, "etf_type": e, "issuer": i, "exchange": x, "market": m, "type": "etf"}
            for n, t, e, i, x, m in columns]


def members(symbols: pd.DataFrame, config: CacheConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(top stocks, essential ETFs that are loaded)."""
    return ranked_stocks(symbols).head(config.combo.top_stocks), essential_etfs(symbols, config)


def detailed(stocks: pd.DataFrame, etfs: pd.DataFrame, combo: ComboConfig) -> dict[str, Any]:
    stock_list = [{**s, "type": "stock"} for s in stock_objects(stocks)]
    etf_list = _etf_objects(etfs)
    return {"count": len(stock_list) + len(etf_list), "description": combo.description,
            "composition": {"stocks": len(stock_list), "etfs": len(etf_list)},
            "stocks": stock_list, "etfs": etf_list}


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    stocks, etfs = members(symbols, config)
    combo = config.combo
    return [
        CacheEntry(TYPE, combo.name, combo.key, tickers(stocks) + tickers(etfs)),
        CacheEntry(TYPE, combo.name, f"{combo.key}_detailed", detailed(stocks, etfs, combo)),
    ]
