"""Real exchange-traded products (tickers, names, issuers); no AUM or expense ratios: never invented."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tickstock_pipelines.reference._files import read_rows


@dataclass(frozen=True)
class EtfRef:
    ticker: str
    name: str
    issuer: str
    type: str  # Polygon ticker type: ETF, ETN, ETV or ETS
    category: str  # broad_market, sector, growth, value, technology, bond, commodity, international, ...
    primary_exchange: str
    price: float  # approximate price level, only to place the sandbox's synthetic bars


@cache
def etfs() -> tuple[EtfRef, ...]:
    return tuple(
        EtfRef(r["ticker"], r["name"], r["issuer"], r["type"], r["category"], r["primary_exchange"],
               float(r["price"]))
        for r in read_rows("etfs.csv")
    )
