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
from tickstock_pipelines.loading.coverage import Gap, mark_loaded
from tickstock_pipelines.loading.progress import Progress
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonClient


@dataclass
class MinuteOutcome:
    counts: WriteCounts = field(default_factory=WriteCounts)
    rejected: list[InvalidBar] = field(default_factory=list)
    symbols_written: set[str] = field(default_factory=set)
    pages: int = 0
    pages_by_symbol: Counter[str] = field(default_factory=Counter)  # one aggregates call per page


def load_minute(engine: sa.Engine, client: PolygonClient, gaps: Sequence[Gap],
                log: Callable[[str], None]) -> MinuteOutcome:
    outcome = MinuteOutcome()
    progress = Progress("ohlcv_minute symbols", len(gaps), log)
    for done, gap in enumerate(gaps, start=1):
        for page in client.aggregates(gap.symbol, "minute", gap.first, gap.last):
            outcome.rejected.extend(page.rejected)
            outcome.pages += 1
            outcome.pages_by_symbol[gap.symbol] += 1
            if page.bars:
                with engine.begin() as conn:
                    outcome.counts.add(upsert_bars(conn, "minute", minute_rows(gap.symbol, page.bars)))
                outcome.symbols_written.add(gap.symbol)
            del page  # else it stays referenced while the next page downloads: two pages at the peak
        with engine.begin() as conn:
            mark_loaded(conn, [gap], "minute")
        progress(done)
    return outcome
