"""Universes requested before, resolved again: the weekly refresh finds their new members this way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import LoadRequest
from tickstock_pipelines.loading.requests import LoadInputError
from tickstock_pipelines.loading.resolve import Ask, Resolved, resolve
from tickstock_pipelines.resources.polygon import PolygonClient


def tracked_requests(conn: sa.Connection, end: date,
                     client: Callable[[], PolygonClient] | None = None) -> list[Resolved]:
    """One request per tracked universe and timespan, with the earliest start ever asked for it."""
    rows = conn.execute(sa.text(
        "SELECT lower(trim(universe)) AS key, timespan, min(start_date) FROM load_requests "
        "WHERE universe IS NOT NULL AND source = 'universe' "
        "GROUP BY key, timespan ORDER BY key, timespan")).all()
    found = []
    for universe, timespan, start in rows:
        try:
            resolved = resolve(Ask(universe=universe, timespan=timespan), conn, end, client)
        except LoadInputError:
            continue  # a cache universe that no longer exists: nothing to track
        request = LoadRequest(symbols=resolved.request.symbols, start=start, timespan=timespan,
                              priority="normal", source="schedule", universe=universe)
        found.append(Resolved(request, resolved.refs))
    return found
