"""The S&P 500 constituents joined with their financials snapshot, gaps kept as gaps."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from tickstock_pipelines.reference._files import number, read_rows


@dataclass(frozen=True)
class Constituent:
    symbol: str
    name: str
    gics_sector: str
    gics_sub_industry: str
    cik: str
    market_cap: float | None  # None where the published data has a gap (e.g. BRK.B): never filled in
    price: float | None
    headquarters: str = ""
    founded: str = ""
    date_added: str = ""


@cache
def financials() -> dict[str, dict[str, str]]:
    """Symbol → financials row; includes former members that are no longer constituents."""
    return {row["Symbol"]: row for row in read_rows("sp500_financials.csv")}


@cache
def sp500() -> tuple[Constituent, ...]:
    """The S&P 500 constituents joined with their financials snapshot."""
    figures = financials()
    return tuple(
        Constituent(
            symbol=row["Symbol"],
            name=row["Security"],
            gics_sector=row["GICS Sector"],
            gics_sub_industry=row["GICS Sub-Industry"],
            cik=row["CIK"],
            market_cap=number(figures.get(row["Symbol"], {}).get("Market Cap")),
            price=number(figures.get(row["Symbol"], {}).get("Price")),
            headquarters=row["Headquarters Location"],
            founded=row["Founded"],
            date_added=row["Date added"],
        )
        for row in read_rows("sp500_constituents.csv")
    )
