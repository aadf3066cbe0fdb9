"""The call planner: fewest calls, and every missing (symbol, session) is fetched by some call."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickstock_pipelines.loading.coverage import Gap
from tickstock_pipelines.loading.planner import plan_daily
from tickstock_pipelines.market_calendar import sessions, sessions_between

YEAR = [d.astype(object) for d in sessions_between(date(2024, 1, 1), date(2024, 12, 31))]
FIVE_YEARS = [d.astype(object) for d in sessions_between(date(2020, 1, 1), date(2024, 12, 31))]


def _tickers(n: int) -> list[str]:
    return [f"T{i:04d}" for i in range(n)]


def _covered(plan, gaps) -> bool:
    grouped = set(plan.grouped_sessions)
    by_aggs = {(g.symbol, g.first, g.last) for g in plan.aggregates}
    for g in gaps:
        days = [d.astype(object) for d in sessions_between(g.first, g.last)]
        if (g.symbol, g.first, g.last) not in by_aggs and not set(days) <= grouped:
            return False
    return True


@pytest.mark.parametrize(("case", "gaps", "grouped", "aggregates"), [
    ("nothing missing", [], 0, 0),
    ("500 new symbols, one year: grouped daily", [Gap(t, YEAR[0], YEAR[-1]) for t in _tickers(500)], 252, 0),
    ("5 symbols, five years: aggregates", [Gap(t, FIVE_YEARS[0], FIVE_YEARS[-1]) for t in _tickers(5)], 0, 5),
    ("500 symbols missing the last session", [Gap(t, YEAR[-1], YEAR[-1]) for t in _tickers(500)], 1, 0),
    ("499 missing the last session + 1 new with five years: a mix",
     [Gap(t, YEAR[-1], YEAR[-1]) for t in _tickers(499)] + [Gap("NEW", FIVE_YEARS[0], FIVE_YEARS[-1])], 1, 1),
    ("one symbol, one session: one aggregates call (ties go to aggregates)",
     [Gap("A", YEAR[5], YEAR[5])], 0, 1),
])
def test_plan_picks_the_fewest_calls(case: str, gaps: list[Gap], grouped: int, aggregates: int) -> None:
    plan = plan_daily(gaps)
    assert (len(plan.grouped_sessions), len(plan.aggregates)) == (grouped, aggregates), case
    assert _covered(plan, gaps)
    distinct_sessions = {d for g in gaps for d in sessions_between(g.first, g.last)}
    assert plan.calls <= min(len(gaps), len(distinct_sessions))


def test_grouped_daily_can_be_switched_off() -> None:
    gaps = [Gap(t, YEAR[0], YEAR[-1]) for t in _tickers(300)]
    plan = plan_daily(gaps, allow_grouped=False)
    assert plan.grouped_sessions == () and len(plan.aggregates) == 300


_DATES = sessions().dates
_start = _DATES.searchsorted(sessions_between(date(2023, 1, 1), date(2023, 1, 10))[0])


@st.composite
def _gaps(draw: st.DrawFn) -> list[Gap]:
    out = []
    for i in range(draw(st.integers(0, 40))):
        a = draw(st.integers(0, 300))
        b = draw(st.integers(a, min(a + 300, 600)))
        out.append(Gap(f"S{i}", _DATES[_start + a].astype(object), _DATES[_start + b].astype(object)))
    return out


@settings(max_examples=150, deadline=None)
@given(_gaps())
def test_any_plan_covers_every_gap_with_no_more_calls_than_either_pure_strategy(gaps: list[Gap]) -> None:
    plan = plan_daily(gaps)
    assert _covered(plan, gaps)
    distinct_sessions = len({d for g in gaps for d in sessions_between(g.first, g.last)})
    assert plan.calls <= min(len(gaps), distinct_sessions)
    assert set(plan.aggregates) | set(plan.covered_by_grouped) == set(gaps)
