"""Carry out a daily call plan: grouped daily per session and aggregates per gap, written as they come.

Aggregates gaps are committed together with their coverage, at most once every BATCH_SECONDS (or at
BATCH_ROWS bars): a commit costs several milliseconds (the WAL flush), which one commit per symbol paid
500 times for the S&P 500. On a slow plan (5 requests a minute) gaps arrive further apart than that, so
each is committed as it arrives and a crash never throws away a paid-for call. Grouped sessions are
written in batches; their coverage is marked only once every planned session has arrived. A run that
dies in the middle fetches what was not committed again (the upsert makes that harmless).
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from tickstock_pipelines.loading.bars_store import Row, WriteCounts, daily_rows, upsert_bars
from tickstock_pipelines.loading.concurrency import ordered_map
from tickstock_pipelines.loading.coverage import Gap, mark_loaded
from tickstock_pipelines.loading.planner import CallPlan
from tickstock_pipelines.loading.progress import Progress
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonClient

GROUPED_BATCH_SESSIONS = 20
BATCH_ROWS = 50_000
BATCH_SECONDS = 1.0


@dataclass
class DailyOutcome:
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejected: list[InvalidBar] = field(default_factory=list)
    symbols_written: set[str] = field(default_factory=set)
    first: date | None = None
    last: date | None = None

    def saw(self, gap: Gap) -> None:
        self.first = min(self.first or gap.first, gap.first)
        self.last = max(self.last or gap.last, gap.last)


def load_daily(engine: sa.Engine, client: PolygonClient, plan: CallPlan,
               log: Callable[[str], None]) -> DailyOutcome:
    outcome = DailyOutcome()
    progress = Progress("ohlcv_daily calls", plan.calls, log)
    done = 0

    def fetch_gap(gap: Gap) -> tuple[list[Row], list[InvalidBar]]:
        rows: list[Row] = []
        rejected: list[InvalidBar] = []
        for page in client.aggregates(gap.symbol, "day", gap.first, gap.last):
            rows.extend(daily_rows(gap.symbol, page.bars))
            rejected.extend(page.rejected)
        return rows, rejected

    batch: list[Row] = []
    batch_gaps: list[Gap] = []
    last_commit = time.monotonic()

    def write_batch() -> None:
        nonlocal last_commit
        with engine.begin() as conn:
            outcome.counts.add(upsert_bars(conn, "day", batch))
            mark_loaded(conn, batch_gaps, "day")
        batch.clear()
        batch_gaps.clear()
        last_commit = time.monotonic()

    for gap, (rows, rejected) in zip(plan.aggregates, ordered_map(fetch_gap, plan.aggregates,
                                                                  client.concurrency), strict=True):
        outcome.rejected.extend(rejected)
        batch.extend(rows)
        batch_gaps.append(gap)
        if rows:
            outcome.symbols_written.add(gap.symbol)
        outcome.saw(gap)
        if len(batch) >= BATCH_ROWS or time.monotonic() - last_commit >= BATCH_SECONDS:
            write_batch()
        done += 1
        progress(done)
    if batch_gaps:
        write_batch()

    wanted: dict[date, set[str]] = defaultdict(set)
    for gap in (*plan.covered_by_grouped, *plan.aggregates):
        outcome.saw(gap)
    planned = plan.grouped_sessions  # sorted
    for gap in plan.covered_by_grouped:
        for session in planned[bisect_left(planned, gap.first):bisect_right(planned, gap.last)]:
            wanted[session].add(gap.symbol)
    pages = ordered_map(client.grouped_daily, plan.grouped_sessions, client.concurrency)
    for i, (session, page) in enumerate(zip(plan.grouped_sessions, pages, strict=True), start=1):
        symbols = wanted.get(session, set())
        for bar in page.bars:
            if bar.ticker in symbols:
                batch.extend(daily_rows(bar.ticker, [bar]))
                outcome.symbols_written.add(bar.ticker)
        outcome.rejected.extend(r for r in page.rejected if r.ticker in symbols)
        if i % GROUPED_BATCH_SESSIONS == 0 or i == len(plan.grouped_sessions):
            with engine.begin() as conn:
                outcome.counts.add(upsert_bars(conn, "day", batch))
                if i == len(plan.grouped_sessions):
                    mark_loaded(conn, plan.covered_by_grouped, "day")
            batch.clear()
        done += 1
        progress(done)
    return outcome
