"""The grouped-daily part of a daily plan: one call per session for every symbol that wants it.

The real API leaves some tickers out of grouped daily while per-ticker aggregates still serve them, and
answers a completed session that is not yet published with no results at all. So a symbol counts a
session as loaded only when its bar arrived: a symbol left out of an answer, or whose session failed after
a retry, is fetched per symbol in the same run (one aggregates call covering all its missing sessions),
unless its list date, asked with one details call when grouped daily first shows it after its window
starts, proves them without a trade (loading/listing.py); an empty answer is left for the next run.
Coverage grows, batch by batch, only over sessions received, so a run that dies keeps what it committed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from tickstock_pipelines.assets.metadata import listed
from tickstock_pipelines.loading.bars_store import Row
from tickstock_pipelines.loading.completeness import (
    GiveUp,
    isolate,
    not_fetched,
    reason,
    received_spans,
    retryable,
)
from tickstock_pipelines.loading.concurrency import ordered_map
from tickstock_pipelines.loading.coverage import Gap
from tickstock_pipelines.loading.day_blocks import DayBlock, pack_day_bars
from tickstock_pipelines.loading.listing import (
    list_dates,
    listed_late,
    proven_before_listing,
    store_list_dates,
    without_list_date,
)
from tickstock_pipelines.loading.planner import CallPlan
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonClient, PolygonError

if TYPE_CHECKING:
    from tickstock_pipelines.loading.daily import DailyOutcome, Fetched, Steps, Writer

GROUPED_BATCH_SESSIONS = 20


@dataclass
class Packed:
    """One answer as the loading thread takes it: its wanted bars packed (on the worker thread that fetched
    it, loading/day_blocks.py), its invalid bars, and whether it was empty (not yet published)."""

    block: DayBlock | None
    rows: list[Row]
    rejected: list[InvalidBar]
    empty: bool


Answer = tuple[Packed | None, str | None, bool]  # (answer, error, worth retrying)


class Sessions:
    """Who wants each planned session, and which (symbol, session) pairs have not been received yet."""

    def __init__(self, plan: CallPlan) -> None:
        self.planned = plan.grouped_sessions  # sorted
        self.gaps = plan.covered_by_grouped
        # who wants a session, kept per gap window (one or a few for a whole market loaded at once), not
        # per session: a set of 6,000 symbols for each of 1,255 sessions held 7.5 million entries
        windows: dict[tuple[date, date], set[str]] = defaultdict(set)
        for gap in self.gaps:
            windows[(gap.first, gap.last)].add(gap.symbol)
        self.windows = [(first, last, frozenset(symbols)) for (first, last), symbols in windows.items()]
        self.missing: dict[str, list[date]] = defaultdict(list)  # left out of an answer (or session failed)
        self.unpublished: list[date] = []
        self.failed: dict[date, str] = {}  # sessions whose call failed (retried later, or for good)
        self.answered_by_symbol: dict[str, tuple[date, date]] = {}  # per symbol: aggregates or list date
        self.first_seen: dict[str, date] = {}  # the first session a symbol arrived in, once it missed one

    def wanted(self, session: date) -> frozenset[str]:
        """The symbols that want `session` (one of the planned sessions) from grouped daily."""
        covering = [symbols for first, last, symbols in self.windows if first <= session <= last]
        return covering[0] if len(covering) == 1 else frozenset().union(*covering)

    def take(self, session: date, page: Packed, outcome: DailyOutcome) -> list[Row | DayBlock]:
        """The wanted bars of one answer; who was left out is remembered, an empty answer is unpublished."""
        symbols = self.wanted(session)
        if page.empty:
            self.unpublished.append(session)
            return []
        arrived = set(page.block.symbols) if page.block else set()
        arrived.update(row[0] for row in page.rows)
        outcome.symbols_written |= arrived
        for symbol in arrived.intersection(self.missing):  # few: those that missed an earlier session
            if session < self.first_seen.get(symbol, date.max):
                self.first_seen[symbol] = session
        for rejected in page.rejected:  # an invalid bar arrived: reported by bars_are_valid, not refetched
            if rejected.ticker in symbols:
                outcome.rejected.append(rejected)
                arrived.add(rejected.ticker)
        for symbol in symbols - arrived:
            self.missing[symbol].append(session)
        return [page.block, *page.rows] if page.block else page.rows

    def excluded(self, symbol: str) -> set[date]:
        """Sessions `symbol` has not received: its own, plus sessions nobody received."""
        answered = self.answered_by_symbol.get(symbol)
        common = [d for d in (*self.unpublished, *self.failed)
                  if answered is None or not answered[0] <= d <= answered[1]]
        return {*self.missing.get(symbol, ()), *common}

    def spans(self, upto: date) -> list[Gap]:
        """What every grouped gap received up to `upto`, for `mark_loaded`."""
        return [span for gap in self.gaps for span in received_spans(gap, upto, self.excluded(gap.symbol))]


def load_grouped(client: PolygonClient, plan: CallPlan, writer: Writer, outcome: DailyOutcome, steps: Steps,
                 give_up: GiveUp, fetch_symbol: Callable[[str, date, date], Fetched],
                 log: Callable[[str], None]) -> None:
    if not plan.grouped_sessions:
        return
    state = Sessions(plan)
    retry: dict[date, str] = {}

    def fetch(session: date) -> Answer:
        if give_up.tripped:
            return None, give_up.reason(), False
        try:
            wanted = state.wanted(session)
            page = client.grouped_daily(session, tickers=wanted)
        except PolygonError as exc:
            return None, reason(isolate(exc)), retryable(exc)
        block, rows = pack_day_bars(page.bars, wanted)
        return Packed(block, rows, page.rejected, not page.bars and not page.rejected), None, True

    def answer(session: date, got: Answer) -> None:
        page, error, worth_retrying = got
        give_up.record(error)
        if page is not None:
            outcome.answered += 1
            state.failed.pop(session, None)
            writer.add(state.take(session, page, outcome), [])
        else:
            state.failed[session] = error or "failed"
            if worth_retrying:
                retry[session] = state.failed[session]
        steps()

    answers = ordered_map(fetch, state.planned, client.concurrency)
    for i, (session, got) in enumerate(zip(state.planned, answers, strict=True), start=1):
        answer(session, got)
        if i % GROUPED_BATCH_SESSIONS == 0:
            writer.add([], state.spans(session), commit=True)
    if retry:  # once more, after the others: a failed session is retried before its symbols go per symbol
        log(f"grouped daily failed for {len(retry)} sessions ({listed([str(d) for d in retry], 5)}): "
            f"asking once more")
        steps.add(len(retry))
        for session in list(retry):
            retry.pop(session)
            answer(session, fetch(session))
        for session in [d for d in retry if d in state.failed]:  # still failing: each symbol on its own
            for symbol in state.wanted(session):
                state.missing[symbol].append(session)
            del state.failed[session]
    _listed_late(client, state, writer, outcome, steps, give_up, log)
    _per_symbol(state, writer, outcome, steps, give_up, fetch_symbol, log, client.concurrency)
    writer.add([], state.spans(state.planned[-1]), commit=True)
    for session, why in state.failed.items():  # not worth another request shape (a 4xx): owed as is
        for symbol in sorted(state.wanted(session)):
            outcome.owed.extend(not_fetched(symbol, [session], why))
    outcome.unpublished = list(state.unpublished)


def _listed_late(client: PolygonClient, state: Sessions, writer: Writer, outcome: DailyOutcome, steps: Steps,
                 give_up: GiveUp, log: Callable[[str], None]) -> None:
    """Symbols without a list date that grouped daily first showed after their window's start: one details
    call each; sessions before the list date it gives are received as "no trade" (loading/listing.py)."""
    asked = without_list_date(writer.engine, listed_late(state.missing, state.first_seen))
    if not asked or give_up.tripped:
        return
    log(f"{len(asked)} symbols without a list date first in grouped daily after their window starts "
        f"({listed(asked, 10)}): one details call each for it")
    steps.add(len(asked))
    dates = list_dates(client, asked)
    outcome.listing_details_calls += len(asked)
    for _ in asked:
        steps()
    store_list_dates(writer.engine, dates)
    for symbol in proven_before_listing(state.missing, dates):
        days = state.missing[symbol]
        state.answered_by_symbol[symbol] = (min(days), max(days))
        state.missing[symbol] = []
        outcome.proven_by_list_date += 1


def _per_symbol(state: Sessions, writer: Writer, outcome: DailyOutcome, steps: Steps, give_up: GiveUp,
                fetch_symbol: Callable[[str, date, date], Fetched], log: Callable[[str], None],
                concurrency: int) -> None:
    """One aggregates call per symbol still missing sessions: from its first to its last missing one."""
    symbols = sorted(s for s, days in state.missing.items() if days)
    if not symbols:
        return
    log(f"{len(symbols)} symbols missing from grouped-daily answers ({listed(symbols, 10)}): one aggregates "
        f"call each")
    outcome.per_symbol_calls += len(symbols)
    steps.add(len(symbols))

    def fetch(symbol: str) -> Fetched:
        days = state.missing[symbol]
        return fetch_symbol(symbol, min(days), max(days))

    for symbol, got in zip(symbols, ordered_map(fetch, symbols, concurrency), strict=True):
        give_up.record(got.error)
        outcome.rejected.extend(got.rejected)
        days = state.missing[symbol]
        if got.error:
            outcome.owed.extend(not_fetched(symbol, days, got.error))
        else:  # every session in the answer's range is received: a bar, or no trade that day
            outcome.answered += 1
            state.answered_by_symbol[symbol] = (min(days), max(days))
            state.missing[symbol] = []
        if got.rows:
            outcome.symbols_written.add(symbol)
        writer.add(got.rows, [])
        steps()
