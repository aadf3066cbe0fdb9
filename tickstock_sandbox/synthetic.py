"""Synthetic `symbols` rows (N stocks + M ETFs) with a realistic sector / industry / SIC mix.

Tests and benchmarks share it: deterministic for a seed, market caps spread over every bucket, some
stocks without a market cap, some with an unmapped SIC (sector Unknown), some inactive, and ETNs/ETVs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

# (sector, industry, sic_code, sic_description, weight)
INDUSTRIES: tuple[tuple[str, str, str, str, int], ...] = (
    ("Technology", "Software—Application", "7372", "SERVICES-PREPACKAGED SOFTWARE", 9),
    ("Technology", "Semiconductors", "3674", "SEMICONDUCTORS & RELATED DEVICES", 5),
    ("Technology", "Computer Hardware", "3571", "ELECTRONIC COMPUTERS", 2),
    ("Technology", "Information Technology Services", "7373",
     "SERVICES-COMPUTER INTEGRATED SYSTEMS DESIGN", 3),
    ("Healthcare", "Biotechnology", "2836", "BIOLOGICAL PRODUCTS, (NO DIAGNOSTIC SUBSTANCES)", 8),
    ("Healthcare", "Drug Manufacturers", "2834", "PHARMACEUTICAL PREPARATIONS", 4),
    ("Healthcare", "Medical Devices", "3841", "SURGICAL & MEDICAL INSTRUMENTS & APPARATUS", 4),
    ("Healthcare", "Medical Care Facilities", "8062",
     "SERVICES-GENERAL MEDICAL & SURGICAL HOSPITALS, NEC", 1),
    ("Financial Services", "Banks—Regional", "6022", "STATE COMMERCIAL BANKS", 8),
    ("Financial Services", "Banks—Diversified", "6021", "NATIONAL COMMERCIAL BANKS", 2),
    ("Financial Services", "Insurance—Property & Casualty", "6331", "FIRE, MARINE & CASUALTY INSURANCE", 3),
    ("Financial Services", "Insurance—Life", "6311", "LIFE INSURANCE", 1),
    ("Financial Services", "Capital Markets", "6211", "SECURITY BROKERS, DEALERS & FLOTATION COMPANIES", 3),
    ("Financial Services", "Credit Services", "6141", "PERSONAL CREDIT INSTITUTIONS", 1),
    ("Consumer Discretionary", "Specialty Retail", "5990", "RETAIL-RETAIL STORES, NEC", 3),
    ("Consumer Discretionary", "Internet Retail", "5961", "RETAIL-CATALOG & MAIL-ORDER HOUSES", 2),
    ("Consumer Discretionary", "Restaurants", "5812", "RETAIL-EATING PLACES", 2),
    ("Consumer Discretionary", "Auto Manufacturers", "3711", "MOTOR VEHICLES & PASSENGER CAR BODIES", 1),
    ("Consumer Staples", "Packaged Foods", "2000", "FOOD AND KINDRED PRODUCTS", 2),
    ("Consumer Staples", "Beverages—Non-Alcoholic", "2086",
     "BOTTLED & CANNED SOFT DRINKS & CARBONATED WATERS", 1),
    ("Consumer Staples", "Grocery Stores", "5411", "RETAIL-GROCERY STORES", 1),
    ("Industrials", "Aerospace & Defense", "3721", "AIRCRAFT", 2),
    ("Industrials", "Specialty Industrial Machinery", "3560", "GENERAL INDUSTRIAL MACHINERY & EQUIPMENT", 3),
    ("Industrials", "Railroads", "4011", "RAILROADS, LINE-HAUL OPERATING", 1),
    ("Industrials", "Trucking", "4213", "TRUCKING (NO LOCAL)", 1),
    ("Energy", "Oil & Gas E&P", "1311", "CRUDE PETROLEUM & NATURAL GAS", 3),
    ("Energy", "Oil & Gas Refining & Marketing", "2911", "PETROLEUM REFINING", 1),
    ("Energy", "Oil & Gas Equipment & Services", "3533", "OIL & GAS FIELD MACHINERY & EQUIPMENT", 1),
    ("Utilities", "Utilities—Regulated Electric", "4911", "ELECTRIC SERVICES", 2),
    ("Utilities", "Utilities—Regulated Gas", "4923", "NATURAL GAS TRANSMISISON & DISTRIBUTION", 1),
    ("Real Estate", "REIT—Diversified", "6798", "REAL ESTATE INVESTMENT TRUSTS", 4),
    ("Real Estate", "Real Estate Services", "6531", "REAL ESTATE AGENTS & MANAGERS (FOR OTHERS)", 1),
    ("Materials", "Specialty Chemicals", "2810", "INDUSTRIAL INORGANIC CHEMICALS", 2),
    ("Materials", "Steel", "3312", "STEEL WORKS & BLAST FURNACES & ROLLING MILLS (COKE OVENS)", 1),
    ("Materials", "Gold", "1040", "GOLD AND SILVER ORES", 1),
    ("Communication Services", "Telecom Services", "4813", "TELEPHONE COMMUNICATIONS (NO RADIOTELEPHONE)", 2),
    ("Communication Services", "Entertainment", "4841", "CABLE & OTHER PAY TELEVISION SERVICES", 2),
    ("Communication Services", "Advertising Agencies", "7311", "SERVICES-ADVERTISING AGENCIES", 1),
    ("Unknown", None, "9995", "NON-OPERATING ESTABLISHMENTS", 2),
)
_ETF_TEMPLATES: tuple[tuple[str, str | None], ...] = (
    ("{issuer} S&P 500 ETF", "S&P 500"), ("{issuer} Total Stock Market ETF", "CRSP US Total Market"),
    ("{issuer} Large-Cap Growth ETF", None), ("{issuer} Small-Cap Value ETF", None),
    ("{issuer} Technology Sector ETF", None), ("{issuer} Semiconductor ETF", None),
    ("{issuer} 20+ Year Treasury Bond ETF", None), ("{issuer} Corporate Bond ETF", None),
    ("{issuer} Gold Trust", None), ("{issuer} Emerging Markets ETF", None),
    ("{issuer} International Developed ETF", None), ("{issuer} Dividend Appreciation ETF", None),
    ("{issuer} Real Estate ETF", None), ("{issuer} Energy Select Sector Fund", None),
    ("{issuer} Clean Energy ETF", None), ("{issuer} Daily S&P 500 Bull 3X Shares", None),
)
_ISSUERS = ("iShares", "Vanguard", "SPDR", "Invesco", "Schwab", "Fidelity", "Global X", "First Trust")
_EXCHANGES = ("XNAS", "XNYS", "ARCX", "BATS")
LAST_UPDATED = datetime(2026, 1, 2, 21, 0, tzinfo=UTC)


def _ticker(i: int, prefix: str = "") -> str:
    letters, n = "", i
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            break
    return (prefix + letters)[:10]


def stock_rows(n: int, *, seed: int = 7, prefix: str = "S") -> list[dict[str, Any]]:
    """n CS rows: ~3% without market cap, ~2% inactive, ~2% ADRC, log-normal caps over every bucket."""
    rng = random.Random(seed)
    weights = [w for *_, w in INDUSTRIES]
    rows = []
    for i in range(n):
        sector, industry, sic, sic_text, _ = rng.choices(INDUSTRIES, weights)[0]
        cap = None if rng.random() < 0.03 else round(math.exp(rng.gauss(math.log(2e9), 2.2)), 2)
        rows.append({
            "symbol": _ticker(i, prefix), "name": f"Synthetic {sector} Corp {i}",
            "type": "ADRC" if rng.random() < 0.02 else "CS", "active": rng.random() >= 0.02,
            "market": "stocks", "locale": "us", "primary_exchange": rng.choice(_EXCHANGES[:2]),
            "market_cap": cap, "sic_code": sic, "sic_description": sic_text, "sector": sector,
            "industry": industry, "last_updated": LAST_UPDATED,
        })
    return rows


def etf_rows(m: int, *, seed: int = 11, prefix: str = "E") -> list[dict[str, Any]]:
    """m ETP rows (~94% ETF, the rest ETN/ETV); AUM unknown for ~30%, as Polygon often leaves it."""
    rng = random.Random(seed)
    rows = []
    for i in range(m):
        template, index = _ETF_TEMPLATES[i % len(_ETF_TEMPLATES)]
        issuer = _ISSUERS[rng.randrange(len(_ISSUERS))]
        kind = rng.choices(("ETF", "ETN", "ETV"), (94, 3, 3))[0]
        rows.append({
            "symbol": _ticker(i, prefix), "name": template.format(issuer=issuer), "type": kind,
            "active": rng.random() >= 0.01, "market": "stocks", "locale": "us", "primary_exchange": "ARCX",
            "etf_type": kind, "issuer": issuer, "underlying_index": index,
            "aum_millions": None if rng.random() < 0.3 else round(math.exp(rng.gauss(6, 2)), 2),
            "expense_ratio": None if rng.random() < 0.5 else round(rng.uniform(0.0003, 0.0095), 4),
            "daily_volume_avg": rng.randrange(1_000, 50_000_000),
            "avg_dollar_volume": round(math.exp(rng.gauss(16, 2.5)), 2),
            "last_updated": LAST_UPDATED,
        })
    return rows


def universe_rows(stocks: int, etfs: int, *, seed: int = 7) -> list[dict[str, Any]]:
    return stock_rows(stocks, seed=seed) + etf_rows(etfs, seed=seed + 4)


_COLUMNS = ("symbol", "name", "type", "active", "market", "locale", "primary_exchange", "market_cap",
            "sic_code", "sic_description", "sector", "industry", "etf_type", "issuer", "underlying_index",
            "correlation_reference", "aum_millions", "expense_ratio", "daily_volume_avg", "avg_dollar_volume",
            "last_updated")
_TABLE = sa.table("symbols", *(sa.column(c) for c in _COLUMNS))


def insert_symbols(conn: sa.Connection, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk insert (one multi-row statement per batch); missing columns are NULL, `active` defaults true."""
    batch = [{c: r.get(c, True if c == "active" else None) for c in _COLUMNS} for r in rows]
    for row in batch:
        if row["last_updated"] is None:
            row["last_updated"] = LAST_UPDATED
    if batch:
        conn.execute(sa.insert(_TABLE), batch)
    return len(batch)
