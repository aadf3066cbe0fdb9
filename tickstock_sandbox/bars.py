"""Deterministic, plausible bars: the same ticker and session give the same bar whatever range is
asked for, in every process.

Each security follows one seeded random walk over the whole fixed calendar ("walk units": prices
continuous across splits), anchored so it closes at its reference price on REFERENCE_SESSION.
Splits are applied on the way out (see `splits.py`). Minute bars are derived from the day bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np

from tickstock_pipelines.market_calendar import sessions
from tickstock_sandbox.identifiers import seed
from tickstock_sandbox.profiles import Profile

# The financials snapshot is of 2026-08-22 (a Saturday): its prices are the closes of the 21st.
REFERENCE_SESSION = date(2026, 8, 21)


@dataclass(frozen=True)
class DaySeries:
    """Columns over every calendar session, float32 to keep ~1,000 cached series small."""

    data: np.ndarray  # shape (7, sessions): o, h, l, c, vw, v, n

    def rows(self, start: int, stop: int) -> np.ndarray:
        return self.data[:, start:stop].astype(np.float64)


def _clustered_volatility(rng: np.random.Generator, n: int) -> np.ndarray:
    """A slowly varying volatility multiplier (calm and stormy stretches), mean about 1."""
    kernel = 0.97 ** np.arange(120)
    noise = np.convolve(rng.standard_normal(n + len(kernel)), kernel / np.sqrt((kernel**2).sum()), "valid")
    return np.exp(0.3 * noise[:n] - 0.045)


def day_series(profile: Profile) -> DaySeries:
    """The listing's bars over every calendar session (a synthetic listing's are computed, not cached)."""
    if profile.synthetic:
        from tickstock_sandbox.market import series

        return DaySeries(series(profile))
    return _walk(profile)


@lru_cache(maxsize=1200)
def _walk(profile: Profile) -> DaySeries:
    cal = sessions()
    n = len(cal)
    ref = cal.index_of(REFERENCE_SESSION)
    rng = np.random.default_rng(seed("day", profile.ticker))
    regime = _clustered_volatility(rng, n)
    shocks = rng.standard_t(4, n) / np.sqrt(2.0)  # fat tails, unit variance
    returns = profile.drift + profile.sigma * regime * shocks
    log_close = np.cumsum(returns)
    close = profile.price * np.exp(log_close - log_close[ref])
    previous = np.concatenate(([close[0] * np.exp(-returns[0])], close[:-1]))
    open_ = previous * np.exp(0.35 * profile.sigma * regime * rng.standard_normal(n))
    wick = 0.5 * profile.sigma * regime
    high = np.maximum(open_, close) * np.exp(np.abs(rng.standard_normal(n)) * wick)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.standard_normal(n)) * wick)
    vwap = (high + low + close) / 3
    surprise = np.abs(returns - profile.drift) / profile.sigma
    volume = np.round(profile.volume * np.exp(0.3 * rng.standard_normal(n) - 0.045) * (0.7 + 0.3 * surprise))
    trades = np.maximum(1, np.round(volume / profile.trade_size * np.exp(0.1 * rng.standard_normal(n))))
    data = np.vstack([open_, high, low, close, vwap, volume, trades]).astype(np.float32)
    # float32 rounding must not break low <= open, close <= high
    data[1] = np.maximum.reduce([data[0], data[1], data[3], data[4]])
    data[2] = np.minimum.reduce([data[0], data[2], data[3], data[4]])
    return DaySeries(data)


def minute_rows(profile: Profile, index: int, day: np.ndarray) -> np.ndarray:
    """Minute o/h/l/c/vw/v/n (walk units) for session `index`, consistent with its day bar `day`:
    the path runs from the day's open to its close and touches exactly its high and low; volumes
    and trade counts sum to the day's."""
    cal = sessions()
    minutes = int((cal.close_ms[index] - cal.open_ms[index]) // 60_000)
    o, h, lo, c, _, v, n = (float(x) for x in day)
    rng = np.random.default_rng(seed("minute", profile.ticker, index))
    walk = np.concatenate(([0.0], np.cumsum(rng.standard_normal(minutes))))
    steps = np.arange(minutes + 1) / minutes
    bridge = walk - steps * walk[-1]
    line = np.log(o) + steps * (np.log(c) - np.log(o))
    path = line.copy()
    up, down = bridge > 0, bridge < 0
    if up.any():
        path[up] += bridge[up] * np.min((np.log(h) - line[up]) / bridge[up])
    if down.any():
        path[down] += bridge[down] * np.min((line[down] - np.log(lo)) / -bridge[down])
    prices = np.clip(np.exp(path), lo, h)
    m_open, m_close = prices[:-1], prices[1:]
    jitter = np.abs(rng.standard_normal((2, minutes))) * profile.sigma / np.sqrt(minutes) * 0.3
    m_high = np.minimum(np.maximum(m_open, m_close) * np.exp(jitter[0]), h)
    m_low = np.maximum(np.minimum(m_open, m_close) * np.exp(-jitter[1]), lo)
    shape = 1 + 2.5 * (2 * steps[:-1] - 1) ** 4  # busy open and close, quiet lunch
    weights = shape * np.exp(0.4 * rng.standard_normal(minutes))
    m_volume = _share_out(v, weights)
    m_trades = np.maximum(_share_out(n, weights), 1)
    m_vwap = (m_high + m_low + m_close) / 3
    return np.vstack([m_open, m_high, m_low, m_close, m_vwap, m_volume, m_trades])


def _share_out(total: float, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to `weights` that sum to `total`."""
    exact = total * weights / weights.sum()
    parts = np.floor(exact)
    remainder = int(round(total - parts.sum()))
    if remainder > 0:
        parts[np.argsort(parts - exact)[:remainder]] += 1
    return parts
