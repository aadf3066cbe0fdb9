"""Symbol records from Polygon ticker details: only for new symbols and those whose details are stale.

A failed details call leaves the row as it was (never "Unknown Company"); a null field in a good answer
keeps the stored value, so one incomplete answer cannot erase what an earlier one said.

Unknown (the API answered 404: reported and skipped) and failed (the call itself failed after its retries:
a 5xx, a timeout, the request budget unreachable) are kept apart: only the first is a fact about the ticker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from tickstock_pipelines.loading.concurrency import ordered_map
from tickstock_pipelines.loading.sectors import SectorMap
from tickstock_pipelines.resources.polygon import PolygonClient, PolygonError, TickerDetails, TickerRef

# Polygon ticker types of exchange-traded products; `etf_type` keeps the real one.
ETP_TYPES = frozenset({"ETF", "ETN", "ETV", "ETS", "ETD"})

_FIELDS = ("name", "type", "active", "market", "locale", "primary_exchange", "currency_name", "cik",
           "composite_figi", "share_class_figi", "market_cap", "weighted_shares_outstanding", "sic_code",
           "sic_description", "sector", "industry", "list_date", "etf_type", "delisted_date")
# Facts that may legitimately turn false/null are still taken from the API: `active` and the delisting.
_ALWAYS_TAKEN = {"active", "delisted_date"}


@dataclass
class SyncResult:
    fetched: list[str] = field(default_factory=list)  # details received and stored
    unknown: list[str] = field(default_factory=list)  # the API does not know them (404, not in any list)
    delisted: list[str] = field(default_factory=list)  # details 404, but listed with active=false
    failed: dict[str, str] = field(default_factory=dict)  # ticker → short redacted reason; row left as it was
    fresh: list[str] = field(default_factory=list)  # details recent enough: no call made
    classified: int = 0  # stocks whose SIC code mapped to a sector

    @property
    def stored(self) -> int:
        return len(self.fetched)


def needing_details(conn: sa.Connection, tickers: Sequence[str], max_age_days: float,
                    now: datetime | None = None) -> tuple[list[str], list[str]]:
    """(tickers to fetch, tickers whose details are fresh): new ones and those older than max_age_days."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=max_age_days)
    fresh = set(conn.execute(
        sa.text("SELECT symbol FROM symbols WHERE symbol = ANY(:t) AND details_updated_at >= :cutoff"),
        {"t": list(tickers), "cutoff": cutoff},
    ).scalars())
    return [t for t in tickers if t not in fresh], [t for t in tickers if t in fresh]


def record(ref: TickerRef, sectors: SectorMap) -> dict[str, object]:
    """One symbols row from a details answer (or a list item, which has no market cap or SIC code)."""
    values: dict[str, object] = {name: getattr(ref, name, None) for name in _FIELDS}
    values["symbol"] = ref.ticker.upper()
    kind = (ref.type or "").upper()
    values["etf_type"] = kind if kind in ETP_TYPES else None
    if kind == "CS" or getattr(ref, "sic_code", None):
        found = sectors.classify(values["sic_code"], values["sic_description"])  # type: ignore[arg-type]
        values["sector"], values["industry"] = found.sector, found.industry
    if values["weighted_shares_outstanding"] is not None:
        values["weighted_shares_outstanding"] = round(float(values["weighted_shares_outstanding"]))
    if values["active"] is None:
        values["active"] = True
    delisted = getattr(ref, "delisted_utc", None)
    values["delisted_date"] = delisted.astimezone(UTC).date() if delisted else None
    return values


def upsert_symbols(conn: sa.Connection, rows: Iterable[dict[str, object]]) -> int:
    """Insert or update symbol rows; stored values survive a null in the new answer."""
    rows = list(rows)
    if not rows:
        return 0
    columns = ("symbol", *_FIELDS)
    sets = ", ".join(
        f"{c} = EXCLUDED.{c}" if c in _ALWAYS_TAKEN else f"{c} = COALESCE(EXCLUDED.{c}, symbols.{c})"
        for c in _FIELDS)
    statement = sa.text(
        f"INSERT INTO symbols ({', '.join(columns)}, details_updated_at, last_updated) "  # noqa: S608
        f"VALUES ({', '.join(':' + c for c in columns)}, now(), now()) "
        f"ON CONFLICT (symbol) DO UPDATE SET {sets}, details_updated_at = now(), last_updated = now(), "
        # the API's own market cap replaces one derived from a close (market_caps.py)
        "market_cap_session = CASE WHEN EXCLUDED.market_cap IS NOT NULL THEN NULL "
        "ELSE symbols.market_cap_session END")
    conn.execute(statement, rows)
    return len(rows)


def reclassify(conn: sa.Connection, sectors: SectorMap) -> int:
    """Sector and industry of every stored row from its stored SIC code under `sectors`, so a changed map
    (a user's override, a new shipped version) reaches rows whose details are still fresh. Returns how
    many rows changed; rows `record` would not classify (an ETF without a SIC code) are left alone."""
    rows = conn.execute(sa.text(
        "SELECT symbol, sic_code, sic_description, sector, industry FROM symbols "
        "WHERE upper(type) = 'CS' OR sic_code IS NOT NULL")).all()
    changed = []
    for row in rows:
        found = sectors.classify(row.sic_code, row.sic_description)
        if (found.sector, found.industry) != (row.sector, row.industry):
            changed.append({"symbol": row.symbol, "sector": found.sector, "industry": found.industry})
    if changed:
        conn.execute(sa.text("UPDATE symbols SET sector = :sector, industry = :industry, "
                             "last_updated = now() WHERE symbol = :symbol"), changed)
    return len(changed)


def fetch_details(client: PolygonClient, tickers: Sequence[str], sectors: SectorMap,
                  progress: Callable[[int, int], None] | None = None,
                  ) -> tuple[list[dict[str, object]], SyncResult]:
    """Details of each ticker, one call each; unknown and failed tickers are reported, not raised."""
    result, rows = SyncResult(), []

    def ask(ticker: str) -> TickerDetails | PolygonError | None:
        try:
            return client.ticker_details(ticker)
        except PolygonError as exc:
            return exc

    answers = ordered_map(ask, tickers, client.concurrency)
    for done, (ticker, details) in enumerate(zip(tickers, answers, strict=True), start=1):
        if isinstance(details, PolygonError):
            result.failed[ticker] = failure_reason(ticker, details)
            details = None
        elif details is None:
            result.unknown.append(ticker)
        if details is not None:
            row = record(details, sectors)
            rows.append(row)
            result.fetched.append(ticker)
            result.classified += row.get("sector") not in (None, "Unknown") and row.get("type") == "CS"
        if progress:
            progress(done, len(tickers))
    return rows, result


def find_delisted(client: PolygonClient, sync: SyncResult, sectors: SectorMap) -> list[dict[str, object]]:
    """Rows for the tickers whose details call answered 404 but the ticker list, asked with active=false,
    knows (one call each): delisted, not unknown. Only the others stay unknown.
    A ticker symbol reused over the years keeps its latest delisting."""

    def ask(ticker: str) -> list[TickerRef] | PolygonError:
        try:
            return [r for r in client.list_tickers(active=False, ticker=ticker) if r.ticker.upper() == ticker]
        except PolygonError as exc:
            return exc

    rows, unknown = [], []
    for ticker, refs in zip(sync.unknown, ordered_map(ask, sync.unknown, client.concurrency), strict=True):
        if isinstance(refs, PolygonError):
            sync.failed[ticker] = failure_reason(ticker, refs).replace("ticker details", "ticker list", 1)
        elif refs:
            latest = max(refs, key=lambda r: r.delisted_utc or datetime.min.replace(tzinfo=UTC))
            row = record(latest, sectors)
            row["active"] = False
            rows.append(row)
            sync.delisted.append(ticker)
        else:
            unknown.append(ticker)
    sync.unknown = unknown
    return rows


def failure_reason(ticker: str, error: PolygonError) -> str:
    """`ticker details: HTTP 500 after 6 attempts`: the client's (already redacted) message without the
    request path and the server's excerpt, so it fits a one-line summary."""
    text = " ".join(str(error).split())
    marker = f" for {ticker}: "
    if marker in text:
        text = text.split(marker, 1)[1]
    text = text.split(" (last answer:", 1)[0]
    return f"ticker details: {text}"[:200]


def failures_line(failed: dict[str, str], limit: int = 10) -> str:
    """`PEP, KO (ticker details: HTTP 500 after 6 attempts); MCD (…)`: failed tickers grouped by reason."""
    by_reason: dict[str, list[str]] = {}
    for ticker, reason in failed.items():
        by_reason.setdefault(reason, []).append(ticker)
    parts, shown = [], 0
    for reason, tickers in by_reason.items():
        if shown >= limit:
            parts.append(f"+{len(failed) - shown} more")
            break
        names = tickers[: limit - shown]
        more = f" +{len(tickers) - len(names)} more" if len(tickers) > len(names) else ""
        parts.append(f"{', '.join(names)}{more} ({reason})")
        shown += len(tickers)
    return "; ".join(parts)
