"""Deterministic, plausible bars on real NYSE sessions: the same ticker and date give the same bar
whatever range is asked for, in every process."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import numpy as np
import pandas as pd

NEW_YORK = ZoneInfo("America/New_York")
ANCHOR = date(2015, 1, 2)  # every series is a random walk from here, so history never shifts


@cache
def calendar() -> xcals.ExchangeCalendar:
    return xcals.get_calendar("XNYS", start="2015-01-01")


def completed_sessions(start: date, end: date, now: datetime) -> pd.DatetimeIndex:
    """Sessions in [start, end] whose regular close (early closes included) is already past."""
    cal = calendar()
    sessions = cal.sessions_in_range(max(start, ANCHOR), min(end, cal.last_session.date()))
    closes = cal.closes.reindex(sessions)
    return sessions[(closes <= pd.Timestamp(now).tz_convert("UTC")).to_numpy()]


def _seed(ticker: str) -> int:
    return int.from_bytes(hashlib.sha256(ticker.encode()).digest()[:8], "big")


@cache
def series(ticker: str, last_price: float) -> pd.DataFrame:
    """Daily o/h/l/c/v/vw/n for every session since ANCHOR, ending near `last_price`."""
    cal = calendar()
    sessions = cal.sessions_in_range(ANCHOR, cal.last_session.date())
    rng = np.random.default_rng(_seed(ticker))
    returns = rng.normal(0.0004, 0.017, len(sessions))
    close = last_price * np.exp(np.cumsum(returns) - np.sum(returns))
    open_ = close * np.exp(rng.normal(0, 0.006, len(sessions)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.007, len(sessions))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.007, len(sessions))))
    volume = np.round(rng.lognormal(15.5, 0.4, len(sessions)))
    vwap = (high + low + close) / 3
    frame = pd.DataFrame(
        {"o": open_, "h": high, "l": low, "c": close, "v": volume, "vw": vwap,
         "n": (volume // 90).astype(int)},
        index=sessions,
    )
    return frame.round({"o": 4, "h": 4, "l": 4, "c": 4, "vw": 4})


def day_stamp_ms(session: pd.Timestamp) -> int:
    """Polygon stamps a day bar at midnight New York time of its session date."""
    midnight = datetime(session.year, session.month, session.day, tzinfo=NEW_YORK)
    return int(midnight.timestamp() * 1000)


def day_bars(ticker: str, last_price: float, start: date, end: date, now: datetime) -> list[dict]:
    sessions = completed_sessions(start, end, now)
    frame = series(ticker, last_price).reindex(sessions)
    return [
        {"v": float(r.v), "vw": float(r.vw), "o": float(r.o), "c": float(r.c), "h": float(r.h),
         "l": float(r.l), "t": day_stamp_ms(ts), "n": int(r.n)}
        for ts, r in zip(sessions, frame.itertuples(index=False), strict=True)
    ]
