"""Universes requested before, resolved again: the weekly refresh finds their new members this way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.request import LoadRequest, Resolved, resolve
from tickstock_pipelines.loading.requests import LoadInputError
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
            resolved = resolve(LoadRequest(universe=universe, timespan=timespan), conn, end, client)
        except LoadInputError:
            continue  # a cache universe that no longer exists: nothing to track
        found.append(replace(resolved, start=start, priority="normal", source="schedule"))
    return found
