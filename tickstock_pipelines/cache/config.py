"""Theme, industry-group and ETF-category definitions, thresholds and limits, from a versioned YAML file.

The shipped `cache_config.yaml` is the default. A user file (run config `config_path`, `--config`, or
TICKSTOCK_CACHE_CONFIG) is laid over it: mappings merge, lists replace, `null` removes a key. The result is
validated before anything is read or written, and a bad file fails with one line naming the line at fault.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

ENV_VAR = "TICKSTOCK_CACHE_CONFIG"
_SHIPPED = "cache_config.yaml"

Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(_[a-z0-9]+)*$", max_length=90)]


def _not_a_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("YAML reads ON/OFF/YES/NO as booleans: quote this ticker, e.g. 'ON'")
    return value


Ticker = Annotated[str, BeforeValidator(_not_a_boolean), Field(pattern=r"^[A-Z0-9.]{1,10}$")]
DisplayName = Annotated[str, Field(min_length=1, max_length=100)]


class CacheConfigError(ValueError):
    """A config file that cannot be used; the message is one line and names the file and line."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiled(patterns: list[str]) -> list[str]:
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc
    return patterns


class Bucket(_Strict):
    key: Slug
    min_market_cap: float = Field(ge=0, description="lower bound in dollars, inclusive")


class MarketCapConfig(_Strict):
    buckets: list[Bucket] = Field(min_length=1)

    @model_validator(mode="after")
    def _descending(self) -> MarketCapConfig:
        bounds = [b.min_market_cap for b in self.buckets]
        if any(a <= b for a, b in zip(bounds, bounds[1:], strict=False)):
            raise ValueError("buckets must be listed from the highest lower bound to the lowest")
        if len({b.key for b in self.buckets}) != len(self.buckets):
            raise ValueError("bucket keys must be unique")
        return self


class SectorLeadersConfig(_Strict):
    top_n: int = Field(default=10, ge=1, le=1000)
    excluded_sectors: list[str] = Field(default_factory=lambda: ["Unknown"])


class LeaderList(_Strict):
    key: Slug
    size: int = Field(ge=1, le=100_000)


class Theme(_Strict):
    display_name: DisplayName
    tickers: list[Ticker] = Field(min_length=1)


class IndustryGroup(_Strict):
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


class EtfCategory(_Strict):
    display_name: DisplayName
    tickers: list[Ticker] = Field(default_factory=list)
    name_patterns: list[str] = Field(default_factory=list)
    underlying_index_patterns: list[str] = Field(default_factory=list)
    exclude_name_patterns: list[str] = Field(default_factory=list)

    _patterns = field_validator(
        "name_patterns", "underlying_index_patterns", "exclude_name_patterns")(_compiled)

    @model_validator(mode="after")
    def _has_matcher(self) -> EtfCategory:
        if not (self.tickers or self.name_patterns or self.underlying_index_patterns):
            raise ValueError("needs at least one of tickers, name_patterns, underlying_index_patterns")
        if self.display_name == "complete":
            raise ValueError("display_name 'complete' is reserved for etf_universe|complete")
        return self


class CompleteConfig(_Strict):
    stocks_top_n: int = Field(default=1000, ge=1)
    etfs_top_n: int = Field(default=100, ge=1)
    etp_types: list[str] = Field(default_factory=lambda: ["ETF", "ETN", "ETV", "ETS"], min_length=1)


class QualityConfig(_Strict):
    coverage_goal: float = Field(default=0.9, ge=0, le=1)
    stale_after_days: float = Field(default=8, gt=0, description="report: entries older than this are stale")


class CacheConfig(_Strict):
    version: Literal[1]
    market_cap: MarketCapConfig
    sector_leaders: SectorLeadersConfig = SectorLeadersConfig()
    market_leaders: list[LeaderList] = Field(min_length=1)
    themes: dict[Slug, Theme]
    industries: dict[Slug, IndustryGroup]
    etf_categories: dict[Slug, EtfCategory]
    complete: CompleteConfig = CompleteConfig()
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


# --- reading YAML with line numbers ---------------------------------------------------------------


def _parse(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Data and the node tree of one YAML document; syntax errors and duplicate keys name their line."""
    try:
        loader = yaml.SafeLoader(text)  # rejects control characters (NUL …) before any line is read
    except yaml.YAMLError as exc:
        raise CacheConfigError(f"{source}: {' '.join(str(exc).split())}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _reject_duplicate_keys(node, source)
        return loader.construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark else ""
        raise CacheConfigError(f"{source}{line}: {exc.problem or exc.context}") from exc
    finally:
        loader.dispose()


def _reject_duplicate_keys(node: yaml.Node, source: str) -> None:
    """Plain YAML keeps the last duplicate silently; a duplicated theme is almost always a mistake."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, yaml.MappingNode):
            seen: set[str] = set()
            for key, value in current.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise CacheConfigError(
                            f"{source} line {key.start_mark.line + 1}: duplicate key {key.value!r}")
                    seen.add(key.value)
                stack.append(value)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)


def _locate(node: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """(1-based line, steps matched) of the deepest node on pydantic's error path."""
    if node is None:
        return None
    best, depth = node.start_mark.line + 1, 0
    for i, step in enumerate(loc):
        if step == "[key]":
            break
        child: yaml.Node | None = None
        line: int | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                    # A bad dict key's path ends in "[key]": point at the key, not its value. A whole
                    # mapping or list at fault is named by its key's line, where a reader looks first.
                    child = key if loc[i + 1 : i + 2] == ("[key]",) else value
                    line = key.start_mark.line if isinstance(child, yaml.CollectionNode) else None
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        if child is None:
            break
        node, depth = child, depth + 1
        best = (child.start_mark.line if line is None else line) + 1
    return best, depth


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merge(base.get(key), value)
        return out
    return override


def _path_text(loc: tuple[Any, ...]) -> str:
    text = ""
    for step in loc:
        if step == "[key]":
            text += " (key)"
        elif isinstance(step, int):
            text += f"[{step}]"
        else:
            name = str(step) if str(step).isprintable() else repr(step)  # a key of "\r" stays one line
            text += f".{name}" if text else name
    return text


def shipped_config_text() -> str:
    return resources.files("tickstock_pipelines.cache").joinpath(_SHIPPED).read_text()


def load_config(path: str | os.PathLike[str] | None = None) -> CacheConfig:
    """The shipped definitions, overlaid by `path` or TICKSTOCK_CACHE_CONFIG when given; validated."""
    shipped_data, shipped_node = _parse(shipped_config_text(), f"(shipped) {_SHIPPED}")
    user_path = path or os.environ.get(ENV_VAR) or None
    data, user_node, source = shipped_data, None, f"(shipped) {_SHIPPED}"
    if user_path:
        file = Path(user_path).expanduser()
        source = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as exc:
            raise CacheConfigError(f"{source}: cannot read cache config: {exc.strerror or exc}") from exc
        except UnicodeDecodeError:
            raise CacheConfigError(f"{source}: not UTF-8 text") from None
        user_data, user_node = _parse(text, source)
        if user_data is not None and not isinstance(user_data, dict):
            raise CacheConfigError(f"{source} line 1: the cache config must be a mapping")
        data = _merge(shipped_data, user_data or {})
    try:
        return CacheConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        where = _locate(user_node, loc)
        if where is None or where[1] == 0:
            # Nothing on the path in the user's file: the offending part came from the shipped file.
            shipped_where = _locate(shipped_node, loc)
            if user_node is None or (shipped_where and shipped_where[1] > 0):
                where, source = shipped_where, f"(shipped) {_SHIPPED}"
        line = f" line {where[0]}" if where else ""
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise CacheConfigError(f"{source}{line}: {_path_text(loc)}: {error['msg']}{more}") from None
