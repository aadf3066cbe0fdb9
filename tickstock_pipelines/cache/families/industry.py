"""`stock_universe|industry|<group>`: ranked stocks matched by SIC code, SIC range or industry text."""

from __future__ import annotations

import pandas as pd

from tickstock_pipelines.cache.config import CacheConfig, IndustryGroup
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.views import TextIndex, ranked_stocks, universe


class _Matcher:
    """SIC codes as numbers and the two text columns factorized once for all groups."""

    def __init__(self, stocks: pd.DataFrame) -> None:
        self.sic = pd.to_numeric(stocks["sic_code"].astype(object), errors="coerce")
        self.industry = TextIndex(stocks["industry"])
        self.sic_text = TextIndex(stocks["sic_description"])

    def __call__(self, group: IndustryGroup) -> pd.Series:
        """SIC code listed or in a range, or industry / SIC description matching a pattern."""
        mask = self.sic.isin(group.sic_codes)
        for low, high in group.sic_ranges:
            mask |= self.sic.between(low, high)
        if group.industry_patterns:
            mask |= self.industry.matches(group.industry_patterns)
            mask |= self.sic_text.matches(group.industry_patterns)
        return mask.fillna(False).astype(bool)


def matches(stocks: pd.DataFrame, group: IndustryGroup) -> pd.Series:
    return _Matcher(stocks)(group)


def build(symbols: pd.DataFrame, config: CacheConfig) -> list[CacheEntry]:
    stocks = ranked_stocks(symbols)
    matcher = _Matcher(stocks)
    return [
        CacheEntry("stock_universe", "industry", key, universe(stocks[matcher(group)]))
        for key, group in config.industries.items()
    ]
