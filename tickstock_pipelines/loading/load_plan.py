"""What a load will ask the API for, before it asks: symbols new and known, calls by endpoint, and the time
they take at the request budget.

`tickstock load --dry-run` prints it without a details or bar call and without writing anything; the
`symbols` asset puts the same plan in its metadata on a real load, so the UI shows it. It is built from
the pieces the run itself uses (`needing_details` for details calls, `window_gaps` and the remembered plan
horizon for the gaps, `plan_daily` for grouped daily against aggregates), so it counts the calls the run
makes. What no one can know before asking is named, not counted: tickers a grouped-daily answer leaves
out (one aggregates call each, or one details call for a list-only ETF listed inside the window), probes
of a plan horizon not yet learned, retries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import Gap, Timespan, window_gaps
from tickstock_pipelines.loading.plan_limits import PlanLimit, clamp, known_limit
from tickstock_pipelines.loading.planner import plan_daily
from tickstock_pipelines.loading.symbols_sync import needing_details
from tickstock_pipelines.market_calendar import sessions_between

if TYPE_CHECKING:
    from tickstock_pipelines.loading.request import Resolved

AGGS_PATH = "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}"
# plan key → (what it is, the API path it calls)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "list": ("ticker list", "/v3/reference/tickers"),
    "details": ("ticker details", "/v3/reference/tickers/{ticker}"),
    "splits": ("splits", "/v3/reference/splits"),
    "grouped_daily": ("grouped daily", "/v2/aggs/grouped/locale/us/market/stocks/{date}"),
    "aggregates": ("aggregates", AGGS_PATH),
    "completeness": ("per-symbol completeness fetches", AGGS_PATH),
}
MINUTE_BARS_PER_SESSION = 960  # 4:00-20:00 with extended hours: the most one session holds
AGGS_PAGE_BARS = 50_000  # bars in one aggregates page
FEW = 10  # symbols named when there are at most this many
UNKNOWABLE = ("one aggregates call per symbol a grouped-daily answer leaves out (completeness), or one "
              "details call instead for an ETF of the ticker list that grouped daily first shows after its "
              "window starts (its list date proves the sessions before it without a trade), up to 7 "
              "probes if the plan refuses older data and its horizon is not remembered yet, one ticker-list "
              "call per ticker the details call does not know, and retries")


@dataclass(frozen=True)
class LoadPlan:
    """The calls a load makes, by endpoint (keys of ENDPOINTS), and what they are for."""

    timespans: tuple[Timespan, ...]
    new: tuple[str, ...]
    known: tuple[str, ...]
    from_list: int  # rows the ticker list gives (no details call)
    calls: dict[str, int]
    budget_per_minute: float | None
    first: date | None = None  # the sessions the bar calls fetch
    last: date | None = None
    strategy: str = "nothing to fetch"
    horizon: PlanLimit | None = None
    clamped_from: date | None = None  # the oldest day asked for that the remembered horizon cuts
    list_note: str = ""
    notes: tuple[str, ...] = field(default=(UNKNOWABLE,))

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def minutes(self, calls: int | None = None) -> float | None:
        """Minutes the calls take at the request budget (the budget is the floor: latency adds to it)."""
        if not self.budget_per_minute:
            return None
        return (self.total if calls is None else calls) / self.budget_per_minute

    def rows(self) -> list[tuple[str, str, int, str]]:
        """(what, path, calls, time at budget) per endpoint, then the total."""
        out = [(what, path, n, duration(self.minutes(n)) if n else "-")
               for key, (what, path) in ENDPOINTS.items() for n in [self.calls.get(key, 0)]]
        return [*out, ("total", "", self.total, duration(self.minutes()))]

    def symbols_line(self) -> str:
        known, new = _counted(self.known, "known"), _counted(self.new, "new")
        listed = f"; {self.from_list} from the ticker list (no details call)" if self.from_list else ""
        return (f"symbols: {len(self.new) + len(self.known)} requested: {new}, {known}; "
                f"{self.calls.get('details', 0)} details calls (new, or details older than the refresh "
                f"age){listed}")

    def bars_line(self) -> str:
        bars = "/".join(self.timespans)
        cut = (f"; the plan's remembered horizon ({self.horizon.span}, from {self.horizon.oldest}) "
               f"cuts what was asked from {self.clamped_from}") if self.horizon and self.clamped_from else ""
        if self.first is None:
            return f"{bars} bars: nothing missing{cut}"
        return f"{bars} bars: {self.first} .. {self.last}, {self.strategy}{cut}"

    def lines(self) -> list[str]:
        """The plan as `tickstock load --dry-run` prints it."""
        width = max(len(what) for what, *_ in self.rows())
        budget = (f"at {self.budget_per_minute:g} requests a minute" if self.budget_per_minute
                  else "no request budget")
        table = [f"  {what:<{width}}  {calls:>7}  {took:>10}  {path}".rstrip()
                 for what, path, calls, took in [("endpoint", "path", "calls", "time"), *self.rows()]]
        return [self.symbols_line(), self.bars_line(), f"calls by endpoint ({budget}):", *table,
                *([f"ticker list: {self.list_note}"] if self.list_note else []),
                f"not counted: {'; '.join(self.notes)}"]

    def metadata(self) -> dict[str, Any]:
        """The plan as the `symbols` materialization shows it (a markdown table and its figures as JSON)."""
        from dagster import MetadataValue

        from tickstock_pipelines.assets.metadata import markdown_table

        head = [f"**{self.symbols_line()}**", "", self.bars_line(), ""]
        table = markdown_table(("endpoint", "path", "calls", "time at budget"),
                               [(w, f"`{p}`" if p else "", c, t) for w, p, c, t in self.rows()], limit=20)
        return {
            "plan": MetadataValue.md(
                "\n".join([*head, str(table.value), "", f"Not counted: {self.notes[0]}."])),
            "plan_calls": MetadataValue.json({**self.calls, "total": self.total}),
            "plan_minutes_at_budget": round(self.minutes() or 0.0, 1),
            "plan_budget_per_minute": self.budget_per_minute or 0.0,
            "plan_new_symbols": len(self.new),
            "plan_known_symbols": len(self.known),
        }


def _counted(symbols: Sequence[str], what: str) -> str:
    """`2 known (AAPL, MSFT)`: names only when there are few."""
    return f"{len(symbols)} {what}" + (f" ({', '.join(symbols)})" if 0 < len(symbols) <= FEW else "")


def duration(minutes: float | None) -> str:
    """`42 s`, `1 min 12 s`, `2 h 31 min`; blank without a budget."""
    if minutes is None:
        return ""
    if minutes < 60:
        whole, seconds = divmod(math.ceil(minutes * 60), 60)
        return " ".join(part for part in (f"{whole} min" if whole else "", f"{seconds} s" if seconds else "")
                        if part) or "0 s"
    hours, rest = divmod(math.ceil(minutes), 60)
    return f"{hours} h {rest} min"


def _gaps(conn: sa.Connection, starts: dict[str, date], timespan: Timespan, end: date) -> list[Gap]:
    """The gaps a run over these symbols fetches once their targets include `starts` (read-only: no target
    is set). A symbol not stored yet is planned from its start (its list date is not known before details),
    a stored one as `missing_gaps` sees it: from its list date, up to its delisting."""
    rows = conn.execute(sa.text(
        "SELECT w.symbol, GREATEST(LEAST(COALESCE(c.start_date, w.start), w.start), "
        "       COALESCE(s.list_date, DATE '1900-01-01')), c.loaded_start, c.loaded_end, "
        "       CASE WHEN s.active IS FALSE THEN s.delisted_date - 1 END "
        "  FROM unnest(CAST(:symbols AS text[]), CAST(:starts AS date[])) AS w(symbol, start) "
        "  LEFT JOIN symbols s ON s.symbol = w.symbol "
        "  LEFT JOIN coverage_targets c ON c.symbol = w.symbol AND c.timespan = :timespan "
        " WHERE s.symbol IS NULL OR s.active OR s.delisted_date IS NOT NULL ORDER BY w.symbol"),
        {"symbols": list(starts), "starts": list(starts.values()), "timespan": timespan}).all()
    return [gap for symbol, start, lo, hi, last_day in rows
            for gap in window_gaps(symbol, start, min(end, last_day) if last_day else end, lo, hi)]


def plan_load(conn: sa.Connection, requests: Sequence[Resolved], end: date, *, list_calls: int,
              budget_per_minute: float | None, max_details_age_days: float = 30.0,
              allow_grouped: bool = True, check_splits: bool = True, list_note: str = "") -> LoadPlan:
    """The plan of a load of `requests` (what `tickstock load` launches: symbols, then their bars).
    `list_calls`: ticker-list pages the load makes to resolve its request (counted by the caller, who made
    them). Reads the database only."""
    wanted = list(dict.fromkeys(s for r in requests for s in r.symbols))
    stored = set(conn.execute(sa.text("SELECT symbol FROM symbols WHERE symbol = ANY(:s)"),
                              {"s": wanted}).scalars())
    listed = {ref.ticker.upper() for r in requests for ref in r.refs}
    to_fetch, _fresh = needing_details(conn, wanted, max_details_age_days)
    calls = dict.fromkeys(ENDPOINTS, 0)
    calls["list"] = list_calls
    calls["details"] = sum(1 for t in to_fetch if t not in listed)
    first = last = horizon = clamped_from = None
    strategy, timespans = "nothing to fetch", tuple(dict.fromkeys(r.timespan for r in requests))
    for timespan in timespans:
        starts: dict[str, date] = {}
        for request in (r for r in requests if r.timespan == timespan):
            for symbol in request.symbols:
                starts[symbol] = min(starts.get(symbol, request.start), request.start)
        gaps = _gaps(conn, starts, timespan, end)
        limit = known_limit(conn, timespan)
        if limit is not None:  # the run clamps to the remembered horizon before any call
            older = min((g.first for g in gaps if g.first < limit.oldest), default=None)
            gaps, horizon, clamped_from = clamp(gaps, limit.oldest), limit, older or clamped_from
        if gaps:
            first = min([g.first for g in gaps] + ([first] if first else []))
            last = max([g.last for g in gaps] + ([last] if last else []))
        if timespan == "day":
            calls["splits"] += int(check_splits and bool(starts))
            daily = plan_daily(gaps, allow_grouped=allow_grouped)
            calls["grouped_daily"] += len(daily.grouped_sessions)
            calls["aggregates"] += len(daily.aggregates)
            strategy = (f"plan {daily.strategy}: {len(daily.grouped_sessions)} grouped-daily sessions, "
                        f"{len(daily.aggregates)} aggregates calls for {len(gaps)} gaps")
        else:  # one call per page of minute bars, at most a session's worth of extended hours each
            calls["aggregates"] += sum(
                max(1, math.ceil(len(sessions_between(g.first, g.last)) * MINUTE_BARS_PER_SESSION
                                 / AGGS_PAGE_BARS)) for g in gaps)
            strategy = f"about one aggregates call per {AGGS_PAGE_BARS:,} minute bars for {len(gaps)} gaps"
    return LoadPlan(timespans=timespans, new=tuple(t for t in wanted if t not in stored),
                    known=tuple(t for t in wanted if t in stored),
                    from_list=sum(1 for t in to_fetch if t in listed), calls=calls,
                    budget_per_minute=budget_per_minute, first=first, last=last, strategy=strategy,
                    horizon=horizon, clamped_from=clamped_from, list_note=list_note)
