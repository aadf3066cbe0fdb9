"""The monthly refresh on any plan: notice delistings with a handful of calls, and refresh details
oldest-first in a batch the request budget finishes in time (the free plan's 5 requests a minute
cannot re-fetch a thousand symbols' details every month: 200 minutes a thousand).

Delistings: one paged list of every active ticker (about a dozen pages for the whole US market);
a stored active symbol missing from it is asked for with active=false, and is stored inactive with its
delisting date when listed there: the next rebuild drops it from universes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlalchemy as sa

from tickstock_pipelines.loading.sectors import SectorMap
from tickstock_pipelines.loading.symbols_sync import SyncResult, find_delisted
from tickstock_pipelines.resources.polygon import PolygonClient

LIST_PAGE = 1000
BATCH_SHARE = 0.8  # of the minutes given: what the details batch may use, the rest is for other calls


@dataclass
class Delistings:
    rows: list[dict[str, object]] = field(default_factory=list)  # inactive rows with delisting dates
    sync: SyncResult = field(default_factory=SyncResult)  # delisted / unknown (in neither list) / failed
    listed_active: int = 0


def find_new_delistings(client: PolygonClient, conn: sa.Connection, sectors: SectorMap) -> Delistings:
    """Stored active symbols the API no longer lists as active, looked up in the inactive list."""
    listed = {ref.ticker.upper() for ref in client.list_tickers()}
    stored = conn.execute(sa.text("SELECT symbol FROM symbols WHERE active ORDER BY 1")).scalars()
    out = Delistings(listed_active=len(listed))
    out.sync.unknown = [s for s in stored if s not in listed]
    conn.rollback()
    out.rows = find_delisted(client, out.sync, sectors)
    return out


def details_batch_size(budget_per_minute: float | None, minutes: float | None,
                       reserved_calls: int = 0) -> int | None:
    """How many details calls fit in 80% of `minutes` at the budget, after `reserved_calls` (None: no
    budget or no minutes given, no limit). At 5 requests a minute and 45 minutes: 180 calls."""
    if budget_per_minute is None or minutes is None:
        return None
    return max(0, math.floor(budget_per_minute * minutes * BATCH_SHARE) - reserved_calls)


def oldest_details(conn: sa.Connection, limit: int | None) -> list[str]:
    """Active symbols, the oldest details first (never fetched first), at most `limit`."""
    return list(conn.execute(sa.text(
        "SELECT symbol FROM symbols WHERE active ORDER BY details_updated_at NULLS FIRST, symbol LIMIT :n"),
        {"n": limit}).scalars())
