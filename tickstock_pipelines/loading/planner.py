"""Fewest calls for the missing daily bars: per-ticker aggregates, grouped daily, or a mix of both.

One aggregates call covers one ticker's gap of any length (50,000 day bars fit a page); one grouped-daily
call covers one session for the whole market. For a threshold t, fetch by grouped daily every session at
least t tickers miss, and by aggregates every gap that still has a session outside that set; the plan is
the threshold with the fewest calls (t = ∞ is "aggregates only", t = 1 "grouped only").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from tickstock_pipelines.loading.coverage import Gap
from tickstock_pipelines.market_calendar import sessions


@dataclass(frozen=True)
class CallPlan:
    grouped_sessions: tuple[date, ...] = ()
    aggregates: tuple[Gap, ...] = ()
    # gaps whose every session comes from grouped daily (their coverage is marked once those arrive)
    covered_by_grouped: tuple[Gap, ...] = field(default=())

    @property
    def calls(self) -> int:
        return len(self.grouped_sessions) + len(self.aggregates)

    @property
    def strategy(self) -> str:
        if not self.grouped_sessions:
            return "aggregates" if self.aggregates else "nothing to fetch"
        return "grouped daily" if not self.aggregates else "grouped daily + aggregates"


def plan_daily(gaps: Sequence[Gap], *, allow_grouped: bool = True) -> CallPlan:
    """The plan with the fewest calls; ties go to aggregates (fewer bytes over the wire)."""
    if not gaps:
        return CallPlan()
    if not allow_grouped:
        return CallPlan(aggregates=tuple(gaps))
    dates = sessions().dates
    first = np.searchsorted(dates, np.array([np.datetime64(g.first, "D") for g in gaps]))
    last = np.searchsorted(dates, np.array([np.datetime64(g.last, "D") for g in gaps]))
    lo, hi = int(first.min()), int(last.max())
    # tickers missing each session: +1 at a gap's first index, -1 after its last
    delta = np.zeros(hi - lo + 2, dtype=np.int64)
    np.add.at(delta, first - lo, 1)
    np.add.at(delta, last - lo + 1, -1)
    missing = np.cumsum(delta)[:-1]
    # a gap is covered by threshold t when every one of its sessions has missing >= t
    gap_min = np.array([missing[a - lo:b - lo + 1].min() for a, b in zip(first, last, strict=True)])

    best_t, best_cost = np.iinfo(np.int64).max, len(gaps)  # aggregates only
    sorted_missing, sorted_gap_min = np.sort(missing[missing > 0]), np.sort(gap_min)
    for t in np.unique(gap_min):
        grouped_calls = len(sorted_missing) - np.searchsorted(sorted_missing, t, side="left")
        aggs_calls = np.searchsorted(sorted_gap_min, t, side="left")
        if grouped_calls + aggs_calls < best_cost:
            best_t, best_cost = int(t), int(grouped_calls + aggs_calls)
    if best_t == np.iinfo(np.int64).max:
        return CallPlan(aggregates=tuple(gaps))
    chosen = np.flatnonzero(missing >= best_t) + lo
    by_grouped = gap_min >= best_t
    return CallPlan(
        grouped_sessions=tuple(d.astype(object) for d in dates[chosen]),
        aggregates=tuple(g for g, covered in zip(gaps, by_grouped, strict=True) if not covered),
        covered_by_grouped=tuple(g for g, covered in zip(gaps, by_grouped, strict=True) if covered),
    )
