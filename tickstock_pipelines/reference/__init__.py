"""Reference data shipped in the package (users do not have the source repository's shared data)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class Constituent:
    symbol: str
    name: str
    gics_sector: str
    gics_sub_industry: str
    cik: str
    market_cap: float | None  # None where the published data has a gap (e.g. BRK.B): never filled in
    price: float | None


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def sp500() -> tuple[Constituent, ...]:
    """The S&P 500 constituents joined with their financials snapshot."""
    root = files(__package__)
    with root.joinpath("sp500_financials.csv").open(encoding="utf-8") as handle:
        financials = {row["Symbol"]: row for row in csv.DictReader(handle)}
    with root.joinpath("sp500_constituents.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(
        Constituent(
            symbol=row["Symbol"],
            name=row["Security"],
            gics_sector=row["GICS Sector"],
            gics_sub_industry=row["GICS Sub-Industry"],
            cik=row["CIK"],
            market_cap=_number(financials.get(row["Symbol"], {}).get("Market Cap", "")),
            price=_number(financials.get(row["Symbol"], {}).get("Price", "")),
        )
        for row in rows
    )
