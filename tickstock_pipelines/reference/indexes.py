"""Index member lists (Nasdaq-100, Dow 30) and listed stocks outside the S&P 500."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tickstock_pipelines.reference._files import number, read_rows


@dataclass(frozen=True)
class IndexMember:
    symbol: str
    name: str


@dataclass(frozen=True)
class OtherStock:
    """A listed company outside the S&P 500 (foreign issuers, ADRs, recent index members)."""

    symbol: str
    name: str
    gics_sector: str
    gics_sub_industry: str
    type: str  # Polygon ticker type: CS or ADRC
    primary_exchange: str
    cik: str | None
    price: float | None
    market_cap: float | None


@cache
def nasdaq100() -> tuple[IndexMember, ...]:
    return tuple(IndexMember(r["symbol"], r["name"]) for r in read_rows("nasdaq100.csv"))


@cache
def dow30() -> tuple[IndexMember, ...]:
    return tuple(IndexMember(r["symbol"], r["name"]) for r in read_rows("dow30.csv"))


INDEXES = {"nasdaq100": nasdaq100, "dow30": dow30}


@cache
def other_stocks() -> tuple[OtherStock, ...]:
    return tuple(
        OtherStock(
            symbol=r["symbol"], name=r["name"], gics_sector=r["gics_sector"],
            gics_sub_industry=r["gics_sub_industry"], type=r["type"],
            primary_exchange=r["primary_exchange"], cik=r["cik"] or None,
            price=number(r["price"]), market_cap=number(r["market_cap"]),
        )
        for r in read_rows("other_stocks.csv")
    )
