"""The plan's limit on history: a 403 NOT_AUTHORIZED "data timeframe" answer is where the plan ends, not a
failure.

The first such answer is turned into a number of years (the longest usual plan horizon that answers,
one probe call each), remembered in `plan_limits`, and every later request is clamped to it before any
call is made. A remembered limit is learned again after RELEARN_DAYS, so an upgraded plan is noticed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa

from tickstock_pipelines.loading.coverage import Gap, Timespan
from tickstock_pipelines.market_calendar import sessions_between
from tickstock_pipelines.resources.polygon import PolygonClient, PolygonError

T = TypeVar("T")

CANDIDATE_YEARS = (20, 15, 10, 5, 3, 2, 1)  # Polygon's plans serve 2, 5, 10, 20+ years of history
RELEARN_DAYS = 30
MAX_HELD_SESSIONS = 3  # newest sessions a run may leave for later when the plan does not serve them yet
PROBE_DAYS = 7  # a probe asks for a week: some of it is a session whatever the weekday


@dataclass(frozen=True)
class PlanLimit:
    years: int
    oldest: date  # the first day the plan serves, today

    @property
    def span(self) -> str:
        """`1 year`, `2 years`."""
        return f"{self.years} year" + ("s" if self.years != 1 else "")

    def line(self, timespan: Timespan, skipped_from: date | None = None) -> str:
        """The one line a run says about it."""
        bars = "day" if timespan == "day" else "minute"
        older = f"; history before it (asked from {skipped_from}) is not loaded" if skipped_from else ""
        return (f"plan limit: the Polygon plan serves {self.span} of {bars} bars (from "
                f"{self.oldest}){older}; remembered, later runs do not ask beyond it")


def today() -> date:
    return datetime.now(UTC).date()


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def is_timeframe_limit(error: BaseException) -> bool:
    """Polygon's 403 for data older than the plan ("Your plan doesn't include this data timeframe")."""
    return isinstance(error, PolygonError) and error.status == 403 and "timeframe" in str(error).lower()


def known_limit(conn: sa.Connection, timespan: Timespan, on: date | None = None) -> PlanLimit | None:
    """The remembered limit, unless it is older than RELEARN_DAYS."""
    years = conn.execute(
        sa.text("SELECT years FROM plan_limits WHERE timespan = :t AND learned_at > now() - :age"),
        {"t": timespan, "age": timedelta(days=RELEARN_DAYS)}).scalar_one_or_none()
    if years is None:
        return None
    return PlanLimit(int(years), years_before(on or today(), int(years)))


def remember(engine: sa.Engine, timespan: Timespan, limit: PlanLimit, message: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO plan_limits (timespan, years, message) VALUES (:t, :y, :m) "
            "ON CONFLICT (timespan) DO UPDATE SET years = EXCLUDED.years, message = EXCLUDED.message, "
            "learned_at = now()"), {"t": timespan, "y": limit.years, "m": message[:500]})


def learn(client: PolygonClient, timespan: Timespan, symbol: str, refused_from: date, error: PolygonError,
          on: date | None = None) -> PlanLimit:
    """The longest usual horizon newer than the refused date that the API serves; one call per try.
    Re-raises `error` when even one year is refused (then it is not a history limit we can work with)."""
    day = on or today()
    for years in CANDIDATE_YEARS:
        oldest = years_before(day, years)
        if oldest <= refused_from:
            continue  # a plan this long would have served the refused request
        try:
            for _ in client.aggregates(symbol, timespan, oldest, oldest + timedelta(days=PROBE_DAYS - 1)):
                pass
        except PolygonError as again:
            if is_timeframe_limit(again):
                continue
            raise
        return PlanLimit(years, oldest)
    raise error


def clamp(gaps: Sequence[Gap], oldest: date) -> list[Gap]:
    """The gaps cut to sessions on or after `oldest` (gaps wholly older are dropped)."""
    out: list[Gap] = []
    for gap in gaps:
        if gap.first >= oldest:
            out.append(gap)
        elif gap.last >= oldest:
            days = sessions_between(oldest, gap.last)
            if len(days):
                out.append(Gap(gap.symbol, days[0].astype(object), gap.last))
    return out


def _cut(gaps: Sequence[Gap], limit: PlanLimit | None) -> tuple[list[Gap], date | None]:
    """(gaps within the plan, the oldest day asked for that the plan does not serve, if any)."""
    if limit is None:
        return list(gaps), None
    older = min((g.first for g in gaps if g.first < limit.oldest), default=None)
    return clamp(gaps, limit.oldest), older


def is_not_yet_available(error: BaseException) -> bool:
    """Polygon's 403 for the newest data a plan does not serve yet ("before end of day")."""
    text = str(error).lower()
    return (isinstance(error, PolygonError) and error.status == 403
            and ("end of day" in text or "today's data" in text))


def _before(gaps: Sequence[Gap], day: date) -> list[Gap]:
    """The gaps cut to sessions before `day`."""
    out: list[Gap] = []
    for gap in gaps:
        if gap.last < day:
            out.append(gap)
        elif gap.first < day:
            days = sessions_between(gap.first, day - timedelta(days=1))
            if len(days):
                out.append(Gap(gap.symbol, gap.first, days[-1].astype(object)))
    return out


def fetch_within_plan(engine: sa.Engine, client: PolygonClient, timespan: Timespan,
                      find_gaps: Callable[[], Sequence[Gap]], fetch: Callable[[list[Gap]], T],
                      warn: Callable[[str], None]) -> tuple[T, PlanLimit | None]:
    """`fetch(gaps)` for the gaps the plan serves. The first timeframe 403 teaches the limit (remembered),
    and the gaps are found and fetched again within it; what was committed before it stays (the coverage
    windows say so). A 403 for the newest data ("before end of day") leaves the newest session for the
    next run instead of failing it (at most MAX_HELD_SESSIONS). One line says what the plan cut."""
    with engine.connect() as conn:
        limit = known_limit(conn, timespan)
    held: date | None = None  # sessions from this day on are not yet available to the plan

    def within() -> tuple[list[Gap], date | None]:
        gaps, cut = _cut(find_gaps(), limit)
        return (_before(gaps, held) if held else gaps), cut

    gaps, cut = within()
    learned = False
    for _ in range(MAX_HELD_SESSIONS + 2):
        try:
            result = fetch(gaps)
            break
        except PolygonError as exc:
            if is_timeframe_limit(exc) and gaps and not learned:
                earliest = min(gaps, key=lambda g: g.first)
                limit, learned = learn(client, timespan, earliest.symbol, earliest.first, exc), True
                remember(engine, timespan, limit, str(exc))
                gaps, cut = within()
                cut = cut or earliest.first
            elif is_not_yet_available(exc) and gaps:
                held = max(g.last for g in gaps)
                gaps, cut = within()
            else:
                raise
    else:
        raise PolygonError(f"{timespan} bars: the plan refused the newest {MAX_HELD_SESSIONS} sessions")
    if limit is not None and cut is not None:
        warn(limit.line(timespan, cut))
    if held is not None:
        warn(f"not yet available to the plan: {timespan} bars from {held}; left for the next run")
    return result, limit


def plan_limit_metadata(limit: PlanLimit | None) -> dict[str, object]:
    """What a bar asset's materialization says about the plan: nothing when no limit is known."""
    if limit is None:
        return {}
    return {"plan_history_years": limit.years, "plan_oldest_date": limit.oldest.isoformat()}
