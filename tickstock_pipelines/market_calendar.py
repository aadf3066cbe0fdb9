"""The real NYSE calendar (exchange_calendars "XNYS", 2015–2030) as flat arrays.

The sandbox generates bars on it and the loader plans sessions with it.

The range is fixed (not "today ± 1 year") so a session's index, and therefore every generated bar,
is the same in every process and on every day.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np

NEW_YORK = ZoneInfo("America/New_York")
FIRST_SESSION = "2015-01-02"
LAST_DAY = "2030-12-31"


@dataclass(frozen=True)
class Sessions:
    dates: np.ndarray  # datetime64[D], one per session
    day_ms: np.ndarray  # int64: midnight America/New_York of the session date (Polygon's day-bar stamp)
    open_ms: np.ndarray  # int64: regular open, epoch ms
    close_ms: np.ndarray  # int64: regular close (early closes included), epoch ms

    def __len__(self) -> int:
        return len(self.dates)

    def index_of(self, day: date) -> int | None:
        i = int(np.searchsorted(self.dates, np.datetime64(day, "D")))
        return i if i < len(self.dates) and self.dates[i] == np.datetime64(day, "D") else None

    def completed_until(self, now_ms: int) -> int:
        """Number of sessions whose close is at or before `now_ms` (a session counts once it has closed)."""
        return int(np.searchsorted(self.close_ms, now_ms, side="right"))

    def date(self, i: int) -> date:
        return self.dates[i].astype(object)


def midnight_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).timestamp() * 1000)


def end_of_day_ms(day: date) -> int:
    return midnight_ms(day + timedelta(days=1)) - 1


def to_ms(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


@cache
def sessions() -> Sessions:
    with warnings.catch_warnings():  # exchange_calendars 4.13 uses a pandas API that pandas 3.1 deprecates
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
        cal = xcals.get_calendar("XNYS", start=FIRST_SESSION, end=LAST_DAY)
    dates = cal.sessions.to_numpy().astype("datetime64[D]")
    day_ms = np.array([midnight_ms(d.astype(object)) for d in dates], dtype=np.int64)
    opens = cal.opens.dt.tz_convert(None).to_numpy().astype("datetime64[ms]").astype(np.int64)
    closes = cal.closes.dt.tz_convert(None).to_numpy().astype("datetime64[ms]").astype(np.int64)
    return Sessions(dates, day_ms, opens, closes)


@cache
def session_positions() -> dict[date, int]:
    """Each session's index in `sessions().dates`: a dict look-up where a numpy search cost microseconds,
    and coverage bookkeeping looks up 10,000 symbols' spans in every batch of a whole-market load."""
    return {day: i for i, day in enumerate(sessions().dates.astype(object))}


def last_completed_session(now: datetime | None = None) -> date:
    """The latest session whose regular (or early) close is past: bars end there."""
    calendar = sessions()
    done = calendar.completed_until(to_ms(now or datetime.now(UTC)))
    if done == 0:
        raise ValueError(f"no NYSE session has closed by {now} (calendar starts {FIRST_SESSION})")
    return calendar.date(done - 1)


def sessions_between(start: date, end: date) -> np.ndarray:
    """Session dates from `start` to `end` inclusive, as datetime64[D] (empty when start > end)."""
    dates = sessions().dates
    lo = np.searchsorted(dates, np.datetime64(start, "D"), side="left")
    hi = np.searchsorted(dates, np.datetime64(end, "D"), side="right")
    return dates[lo:hi]
