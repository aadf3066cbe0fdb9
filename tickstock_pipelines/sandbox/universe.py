"""The sandbox's tickers: the packaged S&P 500 as common stocks (ETFs are still to come)."""

from __future__ import annotations

import hashlib
from functools import cache

from tickstock_pipelines.reference import sp500


def _figi(symbol: str, salt: str) -> str:
    return "BBG" + hashlib.sha1(f"{salt}:{symbol}".encode()).hexdigest()[:9].upper()


@cache
def tickers() -> dict[str, dict]:
    """Ticker → Polygon ticker-details object; market_cap is absent where the reference data has none."""
    universe: dict[str, dict] = {}
    for c in sorted(sp500(), key=lambda c: c.symbol):
        details = {
            "ticker": c.symbol, "name": c.name, "market": "stocks", "locale": "us",
            "primary_exchange": "XNYS", "type": "CS", "active": True, "currency_name": "usd",
            "cik": c.cik.zfill(10), "composite_figi": _figi(c.symbol, "c"),
            "share_class_figi": _figi(c.symbol, "s"),
        }
        if c.market_cap is not None:
            details["market_cap"] = c.market_cap
            if c.price:
                details["weighted_shares_outstanding"] = round(c.market_cap / c.price)
        universe[c.symbol] = details | {"_price": c.price or 100.0}
    return universe


LIST_FIELDS = ("ticker", "name", "market", "locale", "primary_exchange", "type", "active",
               "currency_name", "cik", "composite_figi", "share_class_figi")
