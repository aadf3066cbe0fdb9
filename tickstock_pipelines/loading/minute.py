"""Minute bars, streamed: each page (up to 50,000 bars) is written before the next is asked for.

Memory holds one page whatever the number of symbols or years. A symbol's coverage is marked after its
last page, so a run that dies mid-symbol fetches that symbol again (the upsert makes that harmless).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from tickstock_pipelines.loading.bars_store import WriteCounts, minute_rows, upsert_bars
from tickstock_pipelines.loading.completeness import GiveUp, NotFetched, isolate, reason
from tickstock_pipelines.loading.coverage import Gap, mark_loaded
from tickstock_pipelines.loading.progress import Progress
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonClient, PolygonError


@dataclass
class MinuteOutcome:
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejected: list[InvalidBar] = field(default_factory=list)
    symbols_written: set[str] = field(default_factory=set)
    pages: int = 0
    pages_by_symbol: Counter[str] = field(default_factory=Counter)  # one aggregates call per page
    owed: list[NotFetched] = field(default_factory=list)  # failed after the retries: the next load asks again
    answered: int = 0


def load_minute(engine: sa.Engine, client: PolygonClient, gaps: Sequence[Gap],
                log: Callable[[str], None]) -> MinuteOutcome:
    outcome = MinuteOutcome()
    progress = Progress("ohlcv_minute symbols", len(gaps), log)
    give_up = GiveUp()
    for done, gap in enumerate(gaps, start=1):
        error = _fetch(engine, client, gap, outcome, give_up)
        give_up.record(error)
        if error:  # the pages that arrived stay; the window does not widen
            outcome.owed.append(NotFetched(gap.symbol, gap.first, gap.last, error))
        else:
            outcome.answered += 1
            with engine.begin() as conn:
                mark_loaded(conn, [gap], "minute")
        progress(done)
    return outcome


def _fetch(engine: sa.Engine, client: PolygonClient, gap: Gap, outcome: MinuteOutcome,
           give_up: GiveUp) -> str | None:
    """Every page of one gap, each committed as it arrives; why it stopped short, or None."""
    if give_up.tripped:
        return give_up.reason()
    try:
        for page in client.aggregates(gap.symbol, "minute", gap.first, gap.last):
            outcome.rejected.extend(page.rejected)
            outcome.pages += 1
            outcome.pages_by_symbol[gap.symbol] += 1
            if page.bars:
                with engine.begin() as conn:
                    outcome.counts.add(upsert_bars(conn, "minute", minute_rows(gap.symbol, page.bars)))
                outcome.symbols_written.add(gap.symbol)
            del page  # else it stays referenced while the next page downloads: two pages at the peak
    except PolygonError as exc:
        return reason(isolate(exc))
    return None
