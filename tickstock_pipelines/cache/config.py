"""Theme, industry-group and ETF-category definitions, thresholds and limits, from a versioned YAML file.

The shipped `cache_config.yaml` is the default. A user file (run config `config_path`, `--config`, or
TICKSTOCK_CACHE_CONFIG) is laid over it by the loader every config file shares (`config_file`): mappings
merge, lists replace, `null` removes a key; a bad file fails with one line naming the line at fault.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from tickstock_pipelines.config_file import (
    ConfigFile,
    ConfigFileError,
    StrictModel,
    not_a_boolean,
    valid_regex,
)

ENV_VAR = "TICKSTOCK_CACHE_CONFIG"
_SHIPPED = "cache_config.yaml"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$", max_length=90)]


Ticker = Annotated[str, BeforeValidator(not_a_boolean), Field(pattern=r"^[A-Z0-9.]{1,10}$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]


class CacheConfigError(ConfigFileError):
    """A cache config that cannot be used; the message is one line and names the file and line."""


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        valid_regex(pattern)
    return patterns


class Bucket(StrictModel):
    key: Slug
    min_market_cap: float = Field(ge=0, description="lower bound in dollars, inclusive")


class MarketCapConfig(StrictModel):
    buckets: list[Bucket] = Field(min_length=1)

    @model_validator(mode="after")
    def _descending(self) -> MarketCapConfig:
        bounds = [b.min_market_cap for b in self.buckets]
        if any(a <= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("buckets must be listed from the highest lower bound to the lowest")
        if len({b.key for b in self.buckets}) != len(self.buckets):
            raise ValueError("bucket keys must be unique")
        return self


class SectorLeadersConfig(StrictModel):
    top_n: int = Field(default=10, ge=1, le=1000)
    excluded_sectors: list[str] = Field(default_factory=lambda: ["Unknown"])


class LeaderList(StrictModel):
    key: Slug
    size: int = Field(ge=1, le=100_000)


class Theme(StrictModel):
    display_name: DisplayName
    tickers: list[Ticker] = Field(min_length=1)


class IndustryGroup(StrictModel):
    sic_codes: list[int] = Field(default_factory=list)
    sic_ranges: list[tuple[int, int]] = Field(default_factory=list)
    industry_patterns: list[str] = Field(default_factory=list, description="regex on industry or SIC text")

    _patterns = field_validator("industry_patterns")(_compiled)

    @model_validator(mode="after")
    def _has_matcher(self) -> IndustryGroup:
        if not (self.sic_codes or self.sic_ranges or self.industry_patterns):
            raise ValueError("needs at least one of sic_codes, sic_ranges, industry_patterns")
        if any(lo > hi for lo, hi in self.sic_ranges):
            raise ValueError("a SIC range must be [low, high] with low <= high")
        return self


class EtfCategory(StrictModel):
    display_name: DisplayName
    tickers: list[Ticker] = Field(default_factory=list)
    name_patterns: list[str] = Field(default_factory=list)
    underlying_index_patterns: list[str] = Field(default_factory=list)
    exclude_name_patterns: list[str] = Field(default_factory=list)
    every_etf: bool = Field(default=False, description="every active ETF (etf_all); no other matcher")

    _patterns = field_validator(
        "name_patterns", "underlying_index_patterns", "exclude_name_patterns")(_compiled)

    @model_validator(mode="after")
    def _has_matcher(self) -> EtfCategory:
        matchers = self.tickers or self.name_patterns or self.underlying_index_patterns
        if self.every_etf and (matchers or self.exclude_name_patterns):
            raise ValueError("every_etf takes every ETF: it has no tickers or patterns")
        if not (matchers or self.every_etf):
            raise ValueError("needs at least one of tickers, name_patterns, underlying_index_patterns, "
                             "every_etf")
        if self.display_name == "complete":
            raise ValueError("display_name 'complete' is reserved for etf_universe|complete")
        return self


class CompleteConfig(StrictModel):
    stocks_top_n: int = Field(default=1000, ge=1)
    etfs_top_n: int = Field(default=100, ge=1)
    etp_types: list[str] = Field(default_factory=lambda: ["ETF", "ETN", "ETV", "ETS"], min_length=1)


class ComboConfig(StrictModel):
    """`stock_etf_combo|<name>|<key>` and `<key>_detailed`: the top stocks, then the essential ETFs."""

    name: DisplayName = "stock_etf_test"
    key: Slug = "combo_test"
    top_stocks: int = Field(default=50, ge=1, le=100_000)
    essential_etfs: list[Ticker] = Field(default_factory=list, description="in this order, when loaded")
    description: DisplayName = "Top stocks by market cap, then the essential ETFs"


class QualityConfig(StrictModel):
    coverage_goal: float = Field(default=0.9, ge=0, le=1)
    stale_after_days: float = Field(default=8, gt=0, description="report: entries older than this are stale")


class CacheConfig(StrictModel):
    version: Literal[1]
    market_cap: MarketCapConfig
    sector_leaders: SectorLeadersConfig = SectorLeadersConfig()
    market_leaders: list[LeaderList] = Field(min_length=1)
    themes: dict[Slug, Theme]
    industries: dict[Slug, IndustryGroup]
    etf_categories: dict[Slug, EtfCategory]
    complete: CompleteConfig = CompleteConfig()
    combo: ComboConfig = ComboConfig()
    quality: QualityConfig = QualityConfig()

    @model_validator(mode="after")
    def _unique_names(self) -> CacheConfig:
        names = [t.display_name for t in self.themes.values()]
        if len(set(names)) != len(names):
            raise ValueError("theme display names must be unique")
        if len({m.key for m in self.market_leaders}) != len(self.market_leaders):
            raise ValueError("market leader keys must be unique")
        return self

    def digest(self) -> str:
        """Short fingerprint recorded in run metadata: which definitions built this cache."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


CACHE_CONFIG_FILE: ConfigFile[CacheConfig] = ConfigFile(
    CacheConfig, "tickstock_pipelines.cache", _SHIPPED, ENV_VAR, "cache config", CacheConfigError)


def shipped_config_text() -> str:
    return CACHE_CONFIG_FILE.shipped_text()


def load_config(path: str | os.PathLike[str] | None = None) -> CacheConfig:
    """The shipped definitions, overlaid by `path` or TICKSTOCK_CACHE_CONFIG when given; validated."""
    return CACHE_CONFIG_FILE.load(path)
