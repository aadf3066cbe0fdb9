"""Stock splits: a few real ones shipped, more added at run time; bars honour both.

The walk in `bars.py` is in "walk units" (continuous through splits). Unadjusted (raw) prices are
walk × (ratio of every shipped split after the session) ÷ (ratio of every run-time split on or before
it): shipped splits happened in history, a run-time split is "a new split" (the raw past stays what
it was, prices from its execution date on are in the new shares). Adjusted = raw ÷ (ratio of every
split after the session), so adding a split changes the adjusted history before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from tickstock_sandbox.identifiers import split_id


@dataclass(frozen=True)
class Split:
    ticker: str
    execution_date: date
    split_from: float
    split_to: float
    shipped: bool = True

    @property
    def ratio(self) -> float:
        return self.split_to / self.split_from

    def wire(self) -> dict:
        """Polygon's /v3/reference/splits item."""
        return {
            "execution_date": self.execution_date.isoformat(),
            "id": split_id(self.ticker, self.execution_date.isoformat()),
            "split_from": _number(self.split_from), "split_to": _number(self.split_to),
            "ticker": self.ticker,
        }


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


# Real splits (execution dates as Polygon lists them).
SHIPPED = tuple(Split(t, date.fromisoformat(d), f, s) for t, d, f, s in (
    ("AAPL", "2020-08-31", 1, 4),
    ("AMZN", "2022-06-06", 1, 20),
    ("GOOGL", "2022-07-18", 1, 20),
    ("GOOG", "2022-07-18", 1, 20),
    ("TSLA", "2020-08-31", 1, 5),
    ("TSLA", "2022-08-25", 1, 3),
    ("NVDA", "2021-07-20", 1, 4),
    ("NVDA", "2024-06-10", 1, 10),
    ("WMT", "2024-02-26", 1, 3),
    ("CMG", "2024-06-26", 1, 50),
    ("AVGO", "2024-07-15", 1, 10),
    ("LRCX", "2024-10-03", 1, 10),
))


def price_factors(splits: list[Split], session_dates: np.ndarray,
                  adjusted: bool) -> np.ndarray:
    """Multiplier from walk units to served prices, per session (volumes are divided by it)."""
    factor = np.ones(len(session_dates))
    for split in splits:
        on_or_after = session_dates >= np.datetime64(split.execution_date, "D")
        if split.shipped:
            factor[~on_or_after] *= split.ratio  # raw history before a past split is in old shares
        else:
            factor[on_or_after] /= split.ratio  # a new split: raw prices from its date on are smaller
        if adjusted:
            factor[~on_or_after] /= split.ratio
    return factor
