"""Cache test helpers: symbols rows in one line, inserted into a real database; cache rows read back."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tickstock_pipelines.cache.frame import symbols_frame
from tickstock_pipelines.db.engine import get_engine
from tickstock_sandbox.synthetic import insert_symbols

B = 1_000_000_000
M = 1_000_000


def stock(symbol: str, market_cap: float | None, sector: str = "Technology", *, industry: str | None = None,
          sic_code: str | None = None, sic_description: str | None = None, active: bool = True,
          type: str = "CS", exchange: str = "XNAS", name: str | None = None) -> dict[str, Any]:
    return {"symbol": symbol, "name": name or f"{symbol} Inc.", "type": type, "active": active,
            "market": "stocks", "locale": "us", "primary_exchange": exchange, "market_cap": market_cap,
            "sector": sector, "industry": industry, "sic_code": sic_code, "sic_description": sic_description}


def etf(symbol: str, name: str | None = None, *, aum: float | None = None, dollar_volume: float | None = None,
        type: str = "ETF", active: bool = True, issuer: str | None = "iShares",
        underlying_index: str | None = None) -> dict[str, Any]:
    return {"symbol": symbol, "name": name or f"{symbol} ETF", "type": type, "active": active,
            "market": "stocks", "locale": "us", "primary_exchange": "ARCX", "etf_type": type,
            "issuer": issuer, "aum_millions": aum, "avg_dollar_volume": dollar_volume,
            "underlying_index": underlying_index}


def frame(rows: list[dict[str, Any]]):
    return symbols_frame(rows)


def insert(uri: str, rows: list[dict[str, Any]]) -> None:
    with get_engine(uri).begin() as conn:
        insert_symbols(conn, rows)


def execute(uri: str, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    with get_engine(uri).begin() as conn:
        result = conn.execute(sa.text(sql), params or {})
        return result.all() if result.returns_rows else []


def cache_values(uri: str, environment: str = "DEFAULT") -> dict[tuple[str, str, str], Any]:
    rows = execute(uri, "SELECT type, name, key, value FROM cache_entries WHERE environment = :e",
                   {"e": environment})
    return {(r.type, r.name, r.key): r.value for r in rows}


def add_entry(uri: str, type_: str, name: str, key: str, value_json: str,
              environment: str = "DEFAULT") -> None:
    execute(uri, "INSERT INTO cache_entries (type, name, key, value, environment) "
                 "VALUES (:t, :n, :k, CAST(:v AS jsonb), :e)",
            {"t": type_, "n": name, "k": key, "v": value_json, "e": environment})


def raw_rows(uri: str) -> list[tuple]:
    """Every row with bookkeeping, value as stored text: for byte-for-byte comparisons."""
    return [tuple(r) for r in execute(
        uri, "SELECT id, type, name, key, environment, value::text, created_at, updated_at "
             "FROM cache_entries ORDER BY id")]


def sample_universe() -> list[dict[str, Any]]:
    """A small, hand-checkable universe covering every rule the families select by."""
    return [
        stock("AAPL", 3000 * B, "Technology", industry="Consumer Electronics", sic_code="3571",
              sic_description="ELECTRONIC COMPUTERS"),
        stock("MSFT", 2800 * B, "Technology", industry="Software—Infrastructure", sic_code="7372",
              sic_description="SERVICES-PREPACKAGED SOFTWARE"),
        stock("NVDA", 200 * B, "Technology", industry="Semiconductors", sic_code="3674",
              sic_description="SEMICONDUCTORS & RELATED DEVICES"),
        stock("JPM", 199_999_999_999.99, "Financial Services", industry="Banks—Diversified", sic_code="6021",
              sic_description="NATIONAL COMMERCIAL BANKS", exchange="XNYS"),
        stock("PGR", 10 * B, "Financial Services", industry="Insurance—Property & Casualty", sic_code="6331",
              sic_description="FIRE, MARINE & CASUALTY INSURANCE", exchange="XNYS"),
        stock("MRNA", 9_999_999_999, "Healthcare", industry="Biotechnology", sic_code="2836",
              sic_description="BIOLOGICAL PRODUCTS, (NO DIAGNOSTIC SUBSTANCES)"),
        stock("O", 2 * B, "Real Estate", industry="REIT—Retail", sic_code="6798",
              sic_description="REAL ESTATE INVESTMENT TRUSTS", exchange="XNYS"),
        stock("SMAL", 300 * M, "Consumer Discretionary", industry="Specialty Retail", sic_code="5990",
              sic_description="RETAIL-RETAIL STORES, NEC"),
        stock("TINY", 299_999_999, "Energy", industry="Oil & Gas E&P", sic_code="1311",
              sic_description="CRUDE PETROLEUM & NATURAL GAS"),
        stock("MYST", 5 * B, "Unknown", sic_code="9995", sic_description="NON-OPERATING ESTABLISHMENTS"),
        stock("NOCAP", None, "Technology", industry="Software—Application", sic_code="7372"),
        stock("ZERO", None, "Industrials"),
        stock("GONE", 500 * B, "Technology", active=False),
        stock("TSM", 900 * B, "Technology", type="ADRC", industry="Semiconductors", sic_code="3674"),
        etf("SPY", "SPDR S&P 500 ETF Trust", aum=500_000, dollar_volume=30 * B, underlying_index="S&P 500"),
        etf("VOO", "Vanguard S&P 500 ETF", aum=450_000, dollar_volume=2 * B),
        etf("QQQ", "Invesco QQQ Trust Series 1", aum=None, dollar_volume=20 * B),
        etf("AGG", "iShares Core U.S. Aggregate Bond ETF", aum=None, dollar_volume=1 * B),
        etf("NEWX", "Brand New Growth ETF", aum=None, dollar_volume=None),
        etf("VXX", "iPath Series B S&P 500 VIX Short-Term Futures ETN", type="ETN", dollar_volume=3 * B),
        etf("GLD", "SPDR Gold Shares", aum=60_000, dollar_volume=5 * B),
        etf("OLD", "Closed S&P 500 ETF", aum=900_000, active=False),
    ]
