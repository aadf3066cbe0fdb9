"""A whole market of synthetic listings beyond the shipped universe (SandboxConfig.synthetic_stocks and
synthetic_etfs; none by default, so the README's demo is unchanged).

Benchmarks load about 6,000 stocks and 4,000 ETFs. The shipped securities' bars are a random walk per
ticker over the whole calendar (bars.py), computed and cached per ticker: 10,000 of those would take
over a gigabyte and a grouped-daily answer would compute thousands of them. A synthetic listing's bar is
a pure function of (ticker seed, session index) instead (a few slow waves plus hashed noise), so one
session for every listing is one vectorised step and one listing's whole history another, and both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from tickstock_pipelines.market_calendar import sessions
from tickstock_sandbox.identifiers import cik, seed
from tickstock_sandbox.profiles import Profile
from tickstock_sandbox.universe import Security

PREFIXES = {"CS": "ZQS", "ETF": "ZQE"}  # no shipped ticker starts with these
_PERIODS = np.array([1500.0, 400.0, 90.0, 20.0])  # sessions per wave of the price path
_M1, _M2, _M3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def synthetic_ticker(kind: str, i: int) -> str:
    """ZQSA, ZQSB, …, ZQSAA, …: at most 7 characters for 400,000 listings."""
    letters, n = "", i
    while True:
        letters = chr(ord("A") + n % 26) + letters
        n = n // 26 - 1
        if n < 0:
            return PREFIXES[kind] + letters


def _unit(seeds: np.ndarray, index: np.ndarray, channel: int) -> np.ndarray:
    """Uniform (0, 1) per (seed, session, channel): splitmix64 over numpy uint64 (wraps by design)."""
    with np.errstate(over="ignore"):
        x = seeds * _M1 + index.astype(np.uint64) * _M2 + np.uint64(channel) * _M3
        x ^= x >> np.uint64(30)
        x *= _M2
        x ^= x >> np.uint64(27)
        x *= _M3
        x ^= x >> np.uint64(31)
    return ((x >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(seeds: np.ndarray, index: np.ndarray, channel: int) -> np.ndarray:
    u1, u2 = _unit(seeds, index, channel), _unit(seeds, index, channel + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def _log_close(seeds: np.ndarray, sigma: np.ndarray, index: np.ndarray) -> np.ndarray:
    waves = np.zeros(np.broadcast_shapes(seeds.shape, index.shape))
    for j, period in enumerate(_PERIODS):
        phase = 2.0 * np.pi * _unit(seeds, np.zeros(1, np.int64), 100 + j)
        waves += np.sqrt(period) / 2 * np.sin(2.0 * np.pi * index / period + phase)
    return sigma * (waves + 0.6 * _normal(seeds, index, 0))


def bars(seeds: np.ndarray, price: np.ndarray, sigma: np.ndarray, volume: np.ndarray, trade_size: np.ndarray,
         index: np.ndarray) -> np.ndarray:
    """o, h, l, c, vw, v, n (float32) of every (listing, session) the broadcast shapes span."""
    close = price * np.exp(_log_close(seeds, sigma, index))
    previous = price * np.exp(_log_close(seeds, sigma, index - 1))
    open_ = previous * np.exp(0.35 * sigma * _normal(seeds, index, 2))
    high = np.maximum(open_, close) * np.exp(np.abs(_normal(seeds, index, 4)) * 0.5 * sigma)
    low = np.minimum(open_, close) * np.exp(-np.abs(_normal(seeds, index, 6)) * 0.5 * sigma)
    shares = np.round(volume * np.exp(0.3 * _normal(seeds, index, 8) - 0.045))
    trades = np.maximum(1.0, np.round(shares / trade_size))
    data = np.stack([open_, high, low, close, (high + low + close) / 3, shares, trades]).astype(np.float32)
    data[1] = np.maximum.reduce([data[0], data[1], data[3], data[4]])  # float32 rounding keeps l ≤ o, c ≤ h
    data[2] = np.minimum.reduce([data[0], data[2], data[3], data[4]])
    return data


def _arrays(profiles: list[Profile]) -> tuple[np.ndarray, ...]:
    return (np.array([seed("synthetic", p.ticker) for p in profiles], dtype=np.uint64),
            *(np.array([getattr(p, name) for p in profiles]) for name in ("price", "sigma", "volume",
                                                                           "trade_size")))


def series(profile: Profile) -> np.ndarray:
    """(7, sessions) over the whole calendar for one synthetic listing."""
    return bars(*_arrays([profile]), np.arange(len(sessions().dates)))


@dataclass(frozen=True)
class Block:
    """Every synthetic listing's parameters, so one session of all of them is one vectorised step."""

    index: dict[str, int]
    params: tuple[np.ndarray, ...]

    @classmethod
    def of(cls, profiles: list[Profile]) -> Block:
        columns = tuple(a[:, None] for a in _arrays(profiles))
        return cls({p.ticker: k for k, p in enumerate(profiles)}, columns)

    def session(self, i: int) -> np.ndarray:
        """(7, listings) for calendar session `i`."""
        return bars(*self.params, np.array([i]))[:, :, 0] if self.index else np.zeros((7, 0), np.float32)


def listings(stocks: int, etfs: int) -> list[Security]:
    """N common stocks and M ETFs (names, SIC codes and market caps as synthetic.py makes them); about
    one in ten listed within the last five years, the rest before 2015."""
    from tickstock_sandbox.synthetic import INDUSTRIES, etf_rows, stock_rows

    sics = {code: (code, text) for _, _, code, text, _ in INDUSTRIES}
    out = []
    for kind, rows in (("CS", stock_rows(stocks, seed=31)), ("ETF", etf_rows(etfs, seed=37))):
        for i, row in enumerate(rows):
            ticker = synthetic_ticker(kind, i)
            u = seed("listed", ticker) / 2**64
            listed = date(2012, 1, 3) if u > 0.1 else date(2021, 6, 1) + timedelta(days=int(u * 12_000))
            while listed.weekday() >= 5:
                listed += timedelta(days=1)
            price = round(5 + 300 * (seed("price", ticker) / 2**64) ** 2, 2)
            cap = row.get("market_cap") if kind == "CS" else None
            sigma = (0.025 if kind == "CS" else 0.012) * (0.6 + seed("sigma", ticker) / 2**64)
            volume = max(2e4, (cap or 5e8) / price * 0.004) if kind == "CS" else 1e4 + 3e6 * u
            out.append(Security(
                ticker=ticker, name=row["name"], type=kind, primary_exchange=row["primary_exchange"],
                profile=Profile(ticker, price, sigma, 0.0, volume, 80 + 100 * u, synthetic=True),
                list_date=listed, cik=cik("synthetic", ticker), market_cap=cap,
                shares=round(cap / price) if cap else None, sic=sics.get(row.get("sic_code") or ""),
                description=f"{row['name']}, a synthetic listing."))
    return out
