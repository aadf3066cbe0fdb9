"""How a security's synthetic bars behave: price level, volatility, drift, volume and trade size.

Levels come from the reference data (real prices where published); the rest are plausible
per-sector / per-category figures, varied per ticker by a stable hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from tickstock_sandbox.identifiers import unit

SECTOR_VOLATILITY = {
    "Utilities": 0.012, "Consumer Staples": 0.012, "Real Estate": 0.015, "Financials": 0.016,
    "Health Care": 0.017, "Industrials": 0.016, "Materials": 0.017, "Energy": 0.020,
    "Communication Services": 0.019, "Consumer Discretionary": 0.020, "Information Technology": 0.022,
}
CATEGORY_VOLATILITY = {
    "broad_market": 0.010, "sector": 0.013, "growth": 0.012, "value": 0.010, "technology": 0.016,
    "bond": 0.004, "commodity": 0.014, "international": 0.011, "dividend": 0.009, "thematic": 0.020,
    "leveraged": 0.030, "inverse": 0.030, "volatility": 0.045, "real_estate": 0.013, "factor": 0.009,
    "currency": 0.004,
}
CATEGORY_VOLUME = {
    "broad_market": 4e6, "sector": 3e6, "growth": 1e6, "value": 1e6, "technology": 8e5, "bond": 3e6,
    "commodity": 3e6, "international": 3e6, "dividend": 1.5e6, "thematic": 6e5, "leveraged": 1.5e7,
    "inverse": 1.5e7, "volatility": 1e7, "real_estate": 2e6, "factor": 1.5e6, "currency": 2e6,
}
# The most traded products, roughly as they trade (shares per day).
ETF_VOLUME = {
    "SPY": 7e7, "QQQ": 4.5e7, "IWM": 3e7, "TQQQ": 6e7, "SQQQ": 9e7, "SOXL": 8e7, "XLF": 4.5e7,
    "EEM": 3e7, "HYG": 3.5e7, "TLT": 3.5e7, "SLV": 2.5e7, "GLD": 9e6, "EFA": 1.8e7, "XLE": 1.7e7,
    "VOO": 6e6, "IVV": 5e6, "VTI": 4e6, "LQD": 2.5e7, "KRE": 1.5e7, "XLK": 7e6, "SGOV": 8e6,
}
CATEGORY_DRIFT = {"inverse": -0.0008, "volatility": -0.0015, "bond": 0.00005, "currency": 0.0}
CASH_LIKE = {"SGOV", "BIL", "SHV", "MINT", "JPST", "FLOT", "SHY", "VGSH", "SCHO"}


@dataclass(frozen=True)
class Profile:
    ticker: str
    price: float  # close on the reference session (REFERENCE_SESSION)
    sigma: float  # daily log-return volatility
    drift: float  # daily log-return drift
    volume: float  # typical shares per day
    trade_size: float  # typical shares per trade
    synthetic: bool = False  # a synthetic listing (market.py): bars from a formula, not a cached walk


def stock_profile(ticker: str, price: float | None, market_cap: float | None, sector: str) -> Profile:
    level = price if price else 20 * 20 ** unit(ticker, "price")  # unpublished price: $20–$400
    sigma = SECTOR_VOLATILITY.get(sector, 0.018) * (0.8 + 0.5 * unit(ticker, "sigma"))
    if market_cap and price:
        volume = market_cap / price * (0.003 + 0.007 * unit(ticker, "turnover"))
    else:
        volume = 5e5 * 10 ** (1.2 * unit(ticker, "volume"))
    trade_size = 60 + 120 * unit(ticker, "trade") + (200 if level < 20 else 0)
    return Profile(ticker, round(level, 4), sigma, 0.0004, min(max(volume, 2e5), 3e8), trade_size)


def etf_profile(ticker: str, price: float, category: str) -> Profile:
    sigma = 0.0004 if ticker in CASH_LIKE else CATEGORY_VOLATILITY.get(category, 0.012)
    sigma *= 0.85 + 0.3 * unit(ticker, "sigma")
    drift = 0.00001 if ticker in CASH_LIKE else CATEGORY_DRIFT.get(category, 0.0003)
    volume = ETF_VOLUME.get(ticker) or CATEGORY_VOLUME.get(category, 1e6) * 10 ** (unit(ticker, "vol") - 0.7)
    trade_size = 100 + 150 * unit(ticker, "trade")
    return Profile(ticker, price, sigma, drift, volume, trade_size)
