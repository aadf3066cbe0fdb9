"""Splits make stored (split-adjusted) history stale: find the new ones and mark those symbols for re-fetch.

One paged call lists the recent splits of the whole market. A symbol needs its history again when a
split has executed (on or before the last completed session) after its history was fetched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import forget_loaded
from tickstock_pipelines.resources.polygon import PolygonClient

LOOKBACK_DAYS = 90  # splits are listed ahead of execution, so a quarter back catches late listings too


@dataclass
class SplitCheck:
    seen: int = 0
    new: list[tuple[str, date]] = field(default_factory=list)
    refetch: list[str] = field(default_factory=list)


def check_splits(conn: sa.Connection, client: PolygonClient, symbols: Sequence[str],
                 last_session: date) -> SplitCheck:
    """Record splits of `symbols` and reset coverage of those whose history predates an executed split."""
    tracked, result = set(symbols), SplitCheck()
    found = [s for s in client.splits(execution_date_gte=last_session - timedelta(days=LOOKBACK_DAYS))
             if s.ticker in tracked and s.execution_date <= last_session]
    result.seen = len(found)
    if not found:
        return result
    inserted = conn.execute(
        sa.text(
            "INSERT INTO splits (symbol, execution_date, split_from, split_to) "
            "SELECT * FROM unnest(CAST(:s AS text[]), CAST(:d AS date[]), CAST(:f AS float8[]), "
            "CAST(:t AS float8[])) ON CONFLICT DO NOTHING RETURNING symbol, execution_date"),
        {"s": [x.ticker for x in found], "d": [x.execution_date for x in found],
         "f": [x.split_from for x in found], "t": [x.split_to for x in found]},
    ).all()
    result.new = [(r[0], r[1]) for r in inserted]
    stale = conn.execute(
        sa.text(
            "SELECT DISTINCT c.symbol FROM coverage_targets c JOIN splits s ON s.symbol = c.symbol "
            " WHERE c.timespan = 'day' AND c.loaded_start IS NOT NULL AND s.refetched_at IS NULL "
            "   AND s.execution_date > c.loaded_start "
            "   AND (c.fetched_at IS NULL OR c.fetched_at < (s.execution_date + time '16:00') "
            "        AT TIME ZONE 'America/New_York') AND c.symbol = ANY(:symbols)"),
        {"symbols": list(tracked)},
    ).scalars().all()
    if stale:
        forget_loaded(conn, stale, "day")
        forget_loaded(conn, stale, "minute")
        conn.execute(sa.text("UPDATE splits SET refetched_at = now() WHERE symbol = ANY(:s) "
                             "AND refetched_at IS NULL"), {"s": list(stale)})
    result.refetch = sorted(stale)
    return result
