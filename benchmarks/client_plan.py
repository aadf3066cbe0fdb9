"""What the client benchmark measures and how long: the ticker, the sandbox clock, budgets, and the full
and quick plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import budget_rounds

TICKER = "AAPL"
SANDBOX_NOW = "2026-08-22T12:00:00Z"  # a fixed sandbox clock: the same bars and pages whatever the date
MINUTE_START, MINUTE_END = date(2025, 8, 22), date(2026, 8, 21)  # one year of sessions
HUGE_RPM = 6_000_000.0  # a 10 µs interval: the budget is consulted on every request but never waits
SPACING_RPM = 120.0
LISTED_TARGET = 1_200  # active tickers after adding synthetic listings: two pages of 1,000


@dataclass(frozen=True)
class Plan:
    throughput_seconds: float  # the variants take turns request by request for this long
    blocks: int  # the throughput ratio is also given per block of that time, to show its spread
    spacing_requests: int
    listing_repeats: int
    minute_repeats: int
    paid: budget_rounds.Rounds


FULL = Plan(throughput_seconds=30, blocks=5, spacing_requests=12, listing_repeats=15, minute_repeats=3,
            paid=budget_rounds.FULL_ROUNDS)
QUICK = Plan(throughput_seconds=4, blocks=3, spacing_requests=6, listing_repeats=5, minute_repeats=1,
             paid=budget_rounds.QUICK_ROUNDS)
