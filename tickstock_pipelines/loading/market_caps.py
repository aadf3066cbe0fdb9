"""Market caps without calls: between details refreshes, `market_cap` follows the price as
weighted shares outstanding × the latest stored close, so the free plan need not re-fetch every
symbol's details to keep caps current. `market_cap_session` says which session's close derived a cap;
a details answer with its own market cap clears it (the API's figure wins until it is older)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

_DERIVE = sa.text(
    "UPDATE symbols s SET market_cap = s.weighted_shares_outstanding * d.close, "
    "       market_cap_session = d.date, last_updated = now() "
    "  FROM (SELECT DISTINCT ON (symbol) symbol, date, close FROM ohlcv_daily "
    "         WHERE symbol = ANY(:symbols) ORDER BY symbol, date DESC) AS d "
    " WHERE s.symbol = d.symbol AND s.active AND s.weighted_shares_outstanding IS NOT NULL "
    # a close newer than the figure in hand: the details' own (as of the day they were fetched) or the last
    # derived one
    "   AND d.date >= COALESCE(s.details_updated_at AT TIME ZONE 'America/New_York', '-infinity')::date "
    "   AND (s.market_cap_session IS NULL OR d.date > s.market_cap_session) "
    "RETURNING s.symbol, d.date")


@dataclass
class DerivedCaps:
    by_session: dict[str, list[str]] = field(default_factory=dict)  # session → symbols derived from its close

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_session.values())


def derive_market_caps(conn: sa.Connection, symbols: Sequence[str]) -> DerivedCaps:
    """Update the caps of `symbols` whose latest stored close is newer than their figure."""
    out = DerivedCaps()
    rows: list[tuple[str, date]] = [(r[0], r[1]) for r in conn.execute(_DERIVE, {"symbols": list(symbols)})]
    for symbol, session in sorted(rows, key=lambda r: (r[1], r[0])):
        out.by_session.setdefault(session.isoformat(), []).append(symbol)
    return out
