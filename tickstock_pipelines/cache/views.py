"""How families select stocks, ETFs and ETPs, and the JSON objects they write.

Every family starts from these, so "a stock", "an ETF" and "rank" mean the same thing everywhere.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

STOCK_TYPE = "CS"
ETF_TYPE = "ETF"
UNKNOWN_SECTOR = "Unknown"


_memo: dict[int, dict[str, Any]] = {}


def _cached(symbols: pd.DataFrame, name: str, compute: Callable[[pd.DataFrame], Any]) -> Any:
    """Each family asks for the same selections of one frame: compute them once per frame.

    Keyed by the frame's identity and dropped when the frame is collected; frames are never mutated.
    """
    slot = _memo.get(id(symbols))
    if slot is None:
        slot = _memo[id(symbols)] = {}
        weakref.finalize(symbols, _memo.pop, id(symbols), None)
    if name not in slot:
        slot[name] = compute(symbols)
    return slot[name]


class TextIndex:
    """A text column factorized once, so each regex runs per distinct value, not per row."""

    def __init__(self, text: pd.Series) -> None:
        self.index = text.index
        self.codes, self.uniques = pd.factorize(text.astype(object), use_na_sentinel=True)

    def matches(self, patterns: list[str]) -> pd.Series:
        """Case-insensitive regex search; missing text never matches."""
        if not patterns:
            return pd.Series(False, index=self.index)
        regex = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        hits = [i for i, value in enumerate(self.uniques) if regex.search(str(value))]
        return pd.Series(np.isin(self.codes, hits), index=self.index)


def text_matches(text: pd.Series, patterns: list[str]) -> pd.Series:
    return TextIndex(text).matches(patterns)


def values(series: pd.Series) -> list[Any]:
    """Column values with every kind of missing (NaN, NA, None) as None, ready for JSON."""
    return [None if v is None or v != v else v for v in series.astype(object).tolist()]


def active_stocks(symbols: pd.DataFrame) -> pd.DataFrame:
    """Active common stock (type CS), market cap or not; ADRs and other types are not stocks here."""
    return _cached(symbols, "active_stocks", lambda s: s[(s["type"] == STOCK_TYPE) & s["active"]])


def _ranked(symbols: pd.DataFrame) -> pd.DataFrame:
    stocks = active_stocks(symbols)
    stocks = stocks[stocks["market_cap"] > 0]
    return stocks.sort_values(["market_cap", "symbol"], ascending=[False, True], kind="mergesort")


def ranked_stocks(symbols: pd.DataFrame) -> pd.DataFrame:
    """Active stocks with a positive market cap, largest first (ticker breaks ties, so order is stable)."""
    return _cached(symbols, "ranked_stocks", _ranked)


def sectors(stocks: pd.DataFrame) -> pd.Series:
    """The loader's sector, `Unknown` where it has none."""
    return stocks["sector"].astype(object).where(stocks["sector"].notna() & (stocks["sector"] != ""),
                                                 UNKNOWN_SECTOR)


def ordered_products(symbols: pd.DataFrame, types: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """Active products of `types` by AUM when known, then average dollar volume, then ticker."""
    products = symbols[symbols["type"].isin(list(types)) & symbols["active"]]
    return products.sort_values(
        ["aum_millions", "avg_dollar_volume", "symbol"], ascending=[False, False, True],
        na_position="last", kind="mergesort",
    )


def etfs(symbols: pd.DataFrame) -> pd.DataFrame:
    """Active type ETF only: ETNs, ETVs and ETSs are products but not ETFs (they go to all_etps)."""
    return _cached(symbols, "etfs", lambda s: ordered_products(s, (ETF_TYPE,)))


def stock_objects(stocks: pd.DataFrame) -> list[dict[str, Any]]:
    """TickStock's stock objects, rank 1-based in the given order; industry falls back to the SIC text."""
    industry = stocks["industry"].astype(object).where(stocks["industry"].notna(), stocks["sic_description"])
    columns = zip(values(stocks["symbol"]), values(stocks["name"]), values(stocks["market_cap"]),
                  values(sectors(stocks)), values(industry), values(stocks["primary_exchange"]),
                  values(stocks["market"]), strict=True)
    return [
        {"ticker": t, "name": n, "rank": i, "market_cap": c, "sector": s, "industry": ind,
         "exchange": x, "market": m}
        for i, (t, n, c, s, ind, x, m) in enumerate(columns, start=1)
    ]


def universe(stocks: pd.DataFrame) -> dict[str, Any]:
    """`{"count", "stocks"}` for an ordered selection of stocks."""
    objects = stock_objects(stocks)
    return {"count": len(objects), "stocks": objects}


ETF_FIELDS = ("etf_type", "issuer", "underlying_index", "correlation_reference", "aum_millions",
              "expense_ratio", "avg_dollar_volume")


def etf_objects(products: pd.DataFrame) -> list[dict[str, Any]]:
    """ETF detail objects, rank 1-based; unknown AUM and expense ratio stay null (never invented)."""
    base = zip(values(products["symbol"]), values(products["name"]), values(products["type"]),
               values(products["primary_exchange"]), strict=True)
    extra = {f: values(products[f]) for f in ETF_FIELDS}
    return [
        {"ticker": t, "name": n, "rank": i, "type": ty, "exchange": x,
         **{f: extra[f][i - 1] for f in ETF_FIELDS}}
        for i, (t, n, ty, x) in enumerate(base, start=1)
    ]


def tickers(frame: pd.DataFrame) -> list[str]:
    return frame["symbol"].tolist()
