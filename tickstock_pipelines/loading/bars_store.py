"""Bars into ohlcv_daily / ohlcv_minute: COPY straight in when they are new, else COPY into a staging
table and one upsert.

The upsert skips rows whose values did not change, so re-running a load writes nothing and the counts
say so. Everything happens on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import psycopg2.errors
import sqlalchemy as sa

from tickstock_pipelines.resources.polygon.models import Bar

COLUMNS = ("open", "high", "low", "close", "volume", "vwap", "transactions")
_TABLES = {"day": ("ohlcv_daily", "date"), "minute": ("ohlcv_minute", "timestamp")}


@dataclass
class WriteCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, other: WriteCounts) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged

    @property
    def written(self) -> int:
        return self.inserted + self.updated


def _row(symbol: str, when: date | datetime, bar: Bar) -> tuple[object, ...]:
    return (symbol, when.isoformat(), bar.open, bar.high, bar.low, bar.close, round(bar.volume),
            "" if bar.vwap is None else bar.vwap, "" if bar.transactions is None else bar.transactions)


def daily_rows(symbol: str, bars: Iterable[Bar]) -> Iterable[tuple[object, ...]]:
    """Day bars keyed by their New York session date (Polygon stamps them at midnight New York)."""
    return (_row(symbol, bar.session_date, bar) for bar in bars)


def minute_rows(symbol: str, bars: Iterable[Bar]) -> Iterable[tuple[object, ...]]:
    return (_row(symbol, bar.timestamp, bar) for bar in bars)


def upsert_bars(conn: sa.Connection, timespan: str, rows: Iterable[tuple[object, ...]]) -> WriteCounts:
    """COPY `rows` (symbol, date|timestamp, open…transactions) and merge them; duplicates collapse."""
    table, time_column = _TABLES[timespan]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    seen: set[tuple[object, object]] = set()
    for row in rows:  # one row per (symbol, time): ON CONFLICT may touch a row only once per statement
        key = (row[0], row[1])
        if key in seen:
            continue
        seen.add(key)
        writer.writerow(row)
    count = len(seen)
    if not count:
        return WriteCounts()
    buffer.seek(0)
    raw = conn.connection.dbapi_connection
    assert raw is not None
    columns = f'symbol, "{time_column}", {", ".join(COLUMNS)}'
    with raw.cursor() as cursor:
        # Bars of sessions never asked for are new in the common case: COPY them straight into the table
        # (about 4× faster than staging + upsert). The first existing row makes it fail; the savepoint
        # undoes it and the rows take the upsert path below.
        cursor.execute("SAVEPOINT tickstock_bars_copy")
        try:
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')", buffer)
        except psycopg2.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT tickstock_bars_copy")
            buffer.seek(0)
        else:
            cursor.execute("RELEASE SAVEPOINT tickstock_bars_copy")
            return WriteCounts(inserted=count)
        # Identifiers come from the fixed _TABLES map above, never from input.
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS staging_{table} "
                       f"(LIKE {table} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        cursor.execute(f"TRUNCATE staging_{table}")
        cursor.copy_expert(f"COPY staging_{table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '')", buffer)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS)
        changed = " OR ".join(f"{table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in COLUMNS)
        # Counted in the database: only three numbers come back, not one flag per row.
        cursor.execute(
            f'WITH merged AS (INSERT INTO {table} AS t (symbol, "{time_column}", {", ".join(COLUMNS)}) '  # noqa: S608
            f'SELECT symbol, "{time_column}", {", ".join(COLUMNS)} FROM staging_{table} '
            f'ON CONFLICT (symbol, "{time_column}") DO UPDATE SET {updates} '
            f"WHERE {changed.replace(f'{table}.', 't.')} "
            "RETURNING (xmax = 0) AS inserted) "
            "SELECT count(*) FILTER (WHERE inserted), count(*) FROM merged")
        inserted, written = cursor.fetchone()
    return WriteCounts(inserted=inserted, updated=written - inserted, unchanged=count - written)
