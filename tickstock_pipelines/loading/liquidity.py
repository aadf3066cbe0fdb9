"""Liquidity from the stored bars, and ETF attributes from the documented name rules.

`daily_volume_avg` and `avg_dollar_volume` average each symbol's last 30 stored sessions. AUM and expense
ratio are never computed here: they come only from an API figure, so they stay as they are (NULL).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tickstock_pipelines.loading.etf_rules import EtfRules
from tickstock_pipelines.loading.symbols_sync import ETP_TYPES

LIQUIDITY_SESSIONS = 30

_LIQUIDITY = sa.text(
    """
    WITH recent AS (
        SELECT symbol, volume, close * volume AS dollars,
               row_number() OVER (PARTITION BY symbol ORDER BY date DESC) AS age
          FROM ohlcv_daily
    ), averaged AS (
        SELECT symbol, round(avg(volume))::bigint AS volume_avg, round(avg(dollars)::numeric, 2) AS dollar_avg
          FROM recent WHERE age <= :sessions GROUP BY symbol
    )
    UPDATE symbols s
       SET daily_volume_avg = a.volume_avg, avg_dollar_volume = a.dollar_avg, last_updated = now()
      FROM averaged a
     WHERE a.symbol = s.symbol
       AND (s.daily_volume_avg IS DISTINCT FROM a.volume_avg
            OR s.avg_dollar_volume IS DISTINCT FROM a.dollar_avg)
    """
)


@dataclass(frozen=True)
class EtfMetadataOutcome:
    etps: int
    with_issuer: int
    attributes_changed: int
    liquidity_updated: int


def update_liquidity(conn: sa.Connection) -> int:
    return conn.execute(_LIQUIDITY, {"sessions": LIQUIDITY_SESSIONS}).rowcount


def update_etf_attributes(conn: sa.Connection, rules: EtfRules) -> tuple[int, int, int]:
    """(ETPs, with an issuer, rows changed): issuer, underlying index, correlation reference by rule."""
    rows = conn.execute(
        sa.text("SELECT symbol, name, type, issuer, underlying_index, correlation_reference FROM symbols "
                "WHERE active AND upper(type) = ANY(:types)"), {"types": sorted(ETP_TYPES)}).all()
    changes = []
    with_issuer = 0
    for symbol, name, kind, issuer, underlying, correlation in rows:
        found = rules.attributes(symbol, name)
        new = (found.issuer or issuer, found.underlying_index or underlying,
               found.correlation_reference or correlation)
        with_issuer += new[0] is not None
        if new != (issuer, underlying, correlation):
            changes.append({"symbol": symbol, "issuer": new[0], "underlying": new[1], "correlation": new[2],
                            "etf_type": kind.upper()})
    if changes:
        conn.execute(
            sa.text("UPDATE symbols SET issuer = :issuer, underlying_index = :underlying, "
                    "correlation_reference = :correlation, etf_type = :etf_type, last_updated = now() "
                    "WHERE symbol = :symbol"), changes)
    return len(rows), with_issuer, len(changes)


def update_etf_metadata(engine: sa.Engine, rules: EtfRules) -> EtfMetadataOutcome:
    """Both updates in one transaction: readers see the old figures or the new ones."""
    with engine.begin() as conn:
        etps, with_issuer, changed = update_etf_attributes(conn, rules)
        liquidity = update_liquidity(conn)
    return EtfMetadataOutcome(etps, with_issuer, changed, liquidity)
