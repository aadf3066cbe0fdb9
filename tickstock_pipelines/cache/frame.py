"""One read of `symbols` into a DataFrame: every family is computed from this frame, never by re-querying."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

# Numerics are cast to float8 in SQL so the frame holds floats, not Decimal objects.
SYMBOLS_QUERY = sa.text(
    """
    SELECT symbol, name, type, active, market, primary_exchange,
           market_cap::float8 AS market_cap, sic_code, sic_description, sector, industry,
           etf_type, issuer, underlying_index, correlation_reference,
           aum_millions::float8 AS aum_millions, expense_ratio::float8 AS expense_ratio,
           daily_volume_avg::float8 AS daily_volume_avg, avg_dollar_volume::float8 AS avg_dollar_volume,
           last_updated
      FROM symbols
    """
)
COLUMNS = ("symbol", "name", "type", "active", "market", "primary_exchange", "market_cap", "sic_code",
           "sic_description", "sector", "industry", "etf_type", "issuer", "underlying_index",
           "correlation_reference", "aum_millions", "expense_ratio", "daily_volume_avg",
           "avg_dollar_volume", "last_updated")
_FLOATS = ("market_cap", "aum_millions", "expense_ratio", "daily_volume_avg", "avg_dollar_volume")


def read_symbols(conn: sa.Connection | sa.Engine) -> pd.DataFrame:
    """Every row of `symbols` (inactive ones too: families filter, the report compares)."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return read_symbols(c)
    rows = conn.execute(SYMBOLS_QUERY).fetchall()
    return symbols_frame([tuple(r) for r in rows])


def symbols_frame(rows: list[tuple] | list[dict]) -> pd.DataFrame:
    """A frame with the canonical columns and dtypes, from query rows or test dicts (missing keys → null)."""
    if rows and isinstance(rows[0], dict):
        frame = pd.DataFrame([{c: r.get(c) for c in COLUMNS} for r in rows], columns=list(COLUMNS))
    else:
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
    # Plain object columns: families turn them into JSON lists, and object → list is a copy, not a loop.
    for column in COLUMNS:
        if column not in _FLOATS and column not in ("active", "last_updated"):
            frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    for column in _FLOATS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["active"] = frame["active"].fillna(True).astype(bool)
    frame["last_updated"] = pd.to_datetime(frame["last_updated"], utc=True)
    return frame
