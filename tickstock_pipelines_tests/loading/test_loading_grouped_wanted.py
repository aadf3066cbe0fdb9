"""A whole-market load through grouped daily: the answers hold ~10,000 bars, and the loader keeps and
validates only the ones its gaps want. Who wants a session is kept per gap window, not per session (a set
of 6,000 symbols for each of 1,255 sessions was 7.5 million entries); the client skips the other tickers'
bars before validating them (validation cost more than decoding)."""

from __future__ import annotations

from datetime import date

from tickstock_pipelines.loading.coverage import Gap
from tickstock_pipelines.loading.grouped import Sessions
from tickstock_pipelines.loading.planner import CallPlan
from tickstock_pipelines.market_calendar import sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient
from tickstock_sandbox import SANDBOX_API_KEY, SandboxServer

DAY = date(2025, 12, 10)


def _client(sandbox: SandboxServer) -> PolygonClient:
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url, limiter=None, sandbox=True,
                         max_retries=3, backoff_seconds=0.01, timeout_seconds=5.0)


def test_grouped_daily_validates_and_returns_only_the_tickers_asked_for(sandbox: SandboxServer) -> None:
    sandbox.inject("invalid_bars", path="/v2/aggs/grouped", ticker="MSFT", invalid="negative_volume")
    client = _client(sandbox)
    every = client.grouped_daily(DAY)
    assert len(every.bars) > 500 and [r.ticker for r in every.rejected] == ["MSFT"]
    wanted = client.grouped_daily(DAY, tickers=frozenset({"AAPL", "KO", "NOPE"}))
    assert sorted(b.ticker for b in wanted.bars) == ["AAPL", "KO"]
    assert wanted.rejected == []  # MSFT's broken bar is not even looked at
    assert wanted.bars == [b for b in every.bars if b.ticker in ("AAPL", "KO")]
    broken = client.grouped_daily(DAY, tickers={"MSFT"})
    assert broken.bars == [] and [(r.ticker, r.date) for r in broken.rejected] == [("MSFT", DAY)]


def test_who_wants_a_session_follows_each_gap_window() -> None:
    early, late = date(2025, 12, 1), date(2025, 12, 15)
    gaps = [Gap(s, early, date(2025, 12, 31)) for s in ("AAPL", "MSFT", "KO")]
    gaps += [Gap("NVDA", late, date(2025, 12, 31)), Gap("PEP", early, date(2025, 12, 5))]
    days = tuple(d.astype(object) for d in sessions_between(early, date(2025, 12, 31)))
    plan = CallPlan(grouped_sessions=days, covered_by_grouped=tuple(gaps))  # what plan_daily makes at scale
    state = Sessions(plan)
    assert state.wanted(date(2025, 12, 3)) == {"AAPL", "MSFT", "KO", "PEP"}
    assert state.wanted(date(2025, 12, 10)) == {"AAPL", "MSFT", "KO"}
    assert state.wanted(date(2025, 12, 31)) == {"AAPL", "MSFT", "KO", "NVDA"}
    every = {(s, g.symbol) for g in gaps for s in plan.grouped_sessions if g.first <= s <= g.last}
    assert {(s, t) for s in plan.grouped_sessions for t in state.wanted(s)} == every
