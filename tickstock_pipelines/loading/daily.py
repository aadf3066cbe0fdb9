"""Carry out a daily call plan: aggregates per gap and grouped daily per session, written as they come.

Aggregates gaps are committed together with their coverage, at most once every BATCH_SECONDS (or at
BATCH_ROWS bars): a commit costs several milliseconds (the WAL flush), which one commit per symbol paid
500 times for the S&P 500. On a slow plan (5 requests a minute) gaps arrive further apart than that, so
each is committed as it arrives and a crash never throws away a paid-for call. Grouped sessions are
written in batches, each with the coverage its sessions completed (loading/grouped.py). A run that dies
in the middle fetches again only what was not committed (the upsert makes overlaps harmless).

A request that still fails after the client's retries costs only its own symbol (or session): the others
are committed, and the failure is named in `DailyOutcome.owed`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.bars_store import Row, WriteCounts, daily_rows, upsert_bars
from tickstock_pipelines.loading.completeness import GiveUp, NotFetched, isolate, reason
from tickstock_pipelines.loading.concurrency import ordered_map
from tickstock_pipelines.loading.coverage import Gap, mark_loaded
from tickstock_pipelines.loading.day_blocks import DayBlock
from tickstock_pipelines.loading.grouped import load_grouped
from tickstock_pipelines.loading.planner import CallPlan
from tickstock_pipelines.loading.progress import Progress
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonClient, PolygonError

BATCH_ROWS = 50_000
BATCH_SECONDS = 1.0


@dataclass
class DailyOutcome:
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejected: list[InvalidBar] = field(default_factory=list)
    symbols_written: set[str] = field(default_factory=set)
    first: date | None = None
    last: date | None = None
    owed: list[NotFetched] = field(default_factory=list)  # wanted, not received: the next load asks again
    unpublished: list[date] = field(default_factory=list)  # grouped daily answered empty: left for later
    per_symbol_calls: int = 0  # aggregates calls for symbols a grouped-daily answer left out
    listing_details_calls: int = 0  # details calls for the list date of symbols listed inside the window
    proven_by_list_date: int = 0  # of those, symbols whose missing sessions all precede their list date
    answered: int = 0  # requests that succeeded

    def saw(self, gap: Gap) -> None:
        self.first = min(self.first or gap.first, gap.first)
        self.last = max(self.last or gap.last, gap.last)


@dataclass
class Fetched:
    """One symbol's aggregates answer: its bars, or why it could not be had."""

    rows: list[Row] = field(default_factory=list)
    rejected: list[InvalidBar] = field(default_factory=list)
    error: str | None = None


def fetch_aggregates(client: PolygonClient, give_up: GiveUp, symbol: str, first: date, last: date) -> Fetched:
    """Every page of one symbol's day bars; a failure after the client's retries is returned, not raised."""
    got = Fetched()
    if give_up.tripped:
        got.error = give_up.reason()
        return got
    try:
        for page in client.aggregates(symbol, "day", first, last):
            got.rows.extend(daily_rows(symbol, page.bars))
            got.rejected.extend(page.rejected)
    except PolygonError as exc:
        got.error = reason(isolate(exc))
    return got


class Writer:
    """Bars and the coverage they complete, committed together in one transaction per batch."""

    def __init__(self, engine: sa.Engine, outcome: DailyOutcome) -> None:
        self.engine, self.outcome = engine, outcome
        self.rows: list[Row | DayBlock] = []  # a DayBlock holds one grouped answer's bars
        self.bars = 0
        self.gaps: list[Gap] = []
        self.last_commit = time.monotonic()

    def add(self, rows: list[Row | DayBlock], gaps: list[Gap], *, commit: bool = False) -> None:
        self.rows.extend(rows)
        self.bars += sum(len(row) if type(row) is not tuple else 1 for row in rows)
        self.gaps.extend(gaps)
        if commit or self.bars >= BATCH_ROWS or time.monotonic() - self.last_commit >= BATCH_SECONDS:
            self.commit()

    def commit(self) -> None:
        if self.rows or self.gaps:
            with self.engine.begin() as conn:
                self.outcome.counts.add(upsert_bars(conn, "day", self.rows))
                mark_loaded(conn, self.gaps, "day")
        self.rows, self.bars, self.gaps = [], 0, []
        self.last_commit = time.monotonic()


class Steps:
    """Progress over the plan's calls plus the ones the run adds (per-symbol fetches, retried sessions)."""

    def __init__(self, total: int, log: Callable[[str], None]) -> None:
        self.progress, self.done, self.total = Progress("ohlcv_daily calls", total, log), 0, total

    def add(self, calls: int) -> None:
        self.total += calls

    def __call__(self) -> None:
        self.done += 1
        self.progress(self.done, self.total)


def load_daily(engine: sa.Engine, client: PolygonClient, plan: CallPlan,
               log: Callable[[str], None]) -> DailyOutcome:
    outcome, give_up, steps = DailyOutcome(), GiveUp(), Steps(plan.calls, log)
    writer = Writer(engine, outcome)
    for gap in (*plan.covered_by_grouped, *plan.aggregates):
        outcome.saw(gap)

    def fetch(gap: Gap) -> Fetched:
        return fetch_aggregates(client, give_up, gap.symbol, gap.first, gap.last)

    answers = ordered_map(fetch, plan.aggregates, client.concurrency)
    for gap, got in zip(plan.aggregates, answers, strict=True):
        give_up.record(got.error)
        outcome.rejected.extend(got.rejected)
        if got.error:
            outcome.owed.append(NotFetched(gap.symbol, gap.first, gap.last, got.error))
        else:
            outcome.answered += 1
        if got.rows:
            outcome.symbols_written.add(gap.symbol)
        writer.add(got.rows, [] if got.error else [gap])  # bars that did arrive are kept either way
        steps()
    writer.commit()
    load_grouped(client, plan, writer, outcome, steps, give_up,
                 lambda symbol, first, last: fetch_aggregates(client, give_up, symbol, first, last), log)
    return outcome
