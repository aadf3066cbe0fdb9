"""SIC code → sector and industry, from a versioned YAML table a user can edit without touching code.

Exact codes first, then the narrowest range containing the code (ties: lower start, then file order), so the
answer never depends on dict or file ordering accidents. The shipped table is `config/sic_sectors.yaml`; a
user's file (`--sector-map`, run config `sector_map_path`, or TICKSTOCK_SECTOR_MAP) is laid over it by the
loader every config file shares (`config_file`), and a bad file fails with one line naming its line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from tickstock_pipelines.config_file import ConfigFile, ConfigFileError, StrictModel

# Exactly the TickStock application's eleven names (its admin form, SQL and reader use them).
SECTORS = (
    "Technology", "Healthcare", "Financial Services", "Consumer Discretionary", "Consumer Staples",
    "Energy", "Industrials", "Materials", "Utilities", "Real Estate", "Communication Services",
)
UNKNOWN = "Unknown"
ENV_VAR = "TICKSTOCK_SECTOR_MAP"
_SHIPPED = "sic_sectors.yaml"
_MAX_CODE = 9999


class SectorMapError(ConfigFileError):
    """A sector map that cannot be used; the message is one line and names the file and line."""


# --- the table --------------------------------------------------------------------------------------------


def _sector(value: str) -> str:
    if value not in SECTORS:
        raise ValueError(f"unknown sector {value!r}; use one of: {', '.join(SECTORS)}")
    return value


def _code(value: Any) -> int:
    """4-digit SIC codes, written as numbers or strings ('0100' keeps its zero)."""
    if isinstance(value, int) and not isinstance(value, bool):
        code = value
    elif isinstance(value, str) and re.fullmatch(r"\d{1,4}", value.strip()):
        code = int(value.strip())
    else:
        raise ValueError(f"a SIC code is a number from 0 to {_MAX_CODE}, not {value!r}")
    if not 0 <= code <= _MAX_CODE:
        raise ValueError(f"a SIC code is a number from 0 to {_MAX_CODE}, not {value!r}")
    return code


Sector = Annotated[str, AfterValidator(_sector)]
SicCode = Annotated[int, BeforeValidator(_code)]


class _Exact(StrictModel):
    sector: Sector
    industry: str | None = Field(default=None, min_length=1, max_length=200)
    filers: str | None = Field(default=None, min_length=1, max_length=300,
                               description="which kind of companies file under this code: why it is exact")


class _Range(StrictModel):
    start: SicCode
    end: SicCode
    sector: Sector

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


def _short_exact(value: Any) -> Any:
    return {"sector": value} if isinstance(value, str) else value


class _SectorFile(StrictModel):
    version: Literal[1]
    exact: dict[SicCode, Annotated[_Exact, BeforeValidator(_short_exact)]] = Field(default_factory=dict)
    ranges: list[_Range] = Field(default_factory=list)


def _check_codes(root: yaml.Node, source: str) -> None:
    """YAML 1.1 reads an unquoted 0100 as octal 64, and '0100' and 100 are one code: refuse both quietly
    wrong readings with the line at fault."""
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        elif (node.tag == "tag:yaml.org,2002:int" and re.fullmatch(r"[-+]?0\d+", node.value or "")):
            raise SectorMapError(
                f"{source} line {node.start_mark.line + 1}: write {node.value} as '{node.value}' or "
                f"{int(node.value, 10)}: YAML reads a leading zero as an octal number")
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "exact" and isinstance(value, yaml.MappingNode):
                seen: set[int] = set()
                for code, _ in value.value:
                    if isinstance(code, yaml.ScalarNode) and re.fullmatch(r"\d{1,4}", code.value.strip()):
                        if int(code.value) in seen:
                            raise SectorMapError(
                                f"{source} line {code.start_mark.line + 1}: SIC code {int(code.value)} "
                                "is listed twice")
                        seen.add(int(code.value))


def _codes_as_numbers(data: dict[str, Any]) -> dict[str, Any]:
    """'0100' and 100 are one code: a user's '0100' must replace (or remove) the shipped 100."""
    exact = data.get("exact")
    if isinstance(exact, dict):
        data = {**data, "exact": {
            int(k) if isinstance(k, str) and re.fullmatch(r"\d{1,4}", k.strip()) else k: v
            for k, v in exact.items()}}
    return data


SECTOR_MAP_FILE: ConfigFile[_SectorFile] = ConfigFile(
    _SectorFile, "tickstock_pipelines.config", _SHIPPED, ENV_VAR, "sector map", SectorMapError,
    check=_check_codes, prepare=_codes_as_numbers)


# --- classification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    sector: str
    industry: str | None


_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to",
                          "with"})
_ACRONYMS = frozenset({"NEC", "TV", "US", "USA", "ADR", "ATM", "REIT", "REITS", "LP"})


@lru_cache(maxsize=4096)
def industry_from_description(description: str | None) -> str | None:
    """SEC descriptions are upper case: "SERVICES-PREPACKAGED SOFTWARE" → "Services-Prepackaged Software",
    "GAMES, TOYS & CHILDREN'S VEHICLES" → "Games, Toys & Children's Vehicles", NEC and TV kept."""
    if description is None or not description.strip():
        return None
    text = " ".join(description.split())

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.upper() in _ACRONYMS:
            return token.upper() if token.upper() != "REITS" else "REITs"
        lower = token.lower()
        before = text[: match.start()].rstrip()
        starts_part = not before or before[-1] in "-(/:"
        if lower in _SMALL_WORDS and not starts_part:
            return lower
        return lower[:1].upper() + lower[1:]

    return re.sub(r"[A-Za-z]+(?:'[A-Za-z]+)?", word, text)


def _parse_code(sic_code: str | int | None) -> int | None:
    if isinstance(sic_code, int) and not isinstance(sic_code, bool):
        return sic_code if 0 <= sic_code <= _MAX_CODE else None
    if isinstance(sic_code, str) and re.fullmatch(r"\d{1,4}", sic_code.strip()):
        return int(sic_code.strip())
    return None


class SectorMap:
    """The table resolved once into a code → sector lookup, so classifying is a list index."""

    def __init__(self, exact: Mapping[int, tuple[str, str | None]], ranges: Sequence[tuple[int, int, str]]):
        self._exact = dict(exact)
        self._by_code: list[str | None] = [None] * (_MAX_CODE + 1)
        # Narrowest first, then lower start, then file order: the first range to claim a code keeps it.
        order = sorted(range(len(ranges)), key=lambda i: (ranges[i][1] - ranges[i][0], ranges[i][0], i))
        for i in order:
            start, end, sector = ranges[i]
            for code in range(start, end + 1):
                if self._by_code[code] is None:
                    self._by_code[code] = sector

    def classify(self, sic_code: str | None, sic_description: str | None) -> Classification:
        """Sector from the code (Unknown when nothing maps it); industry from the exact entry, else the
        description."""
        industry = industry_from_description(sic_description)
        code = _parse_code(sic_code)
        if code is None:
            return Classification(UNKNOWN, industry)
        exact = self._exact.get(code)
        if exact is not None:
            return Classification(exact[0], exact[1] or industry)
        return Classification(self._by_code[code] or UNKNOWN, industry)


def _table(table: _SectorFile) -> SectorMap:
    return SectorMap(
        {code: (entry.sector, entry.industry) for code, entry in table.exact.items()},
        [(r.start, r.end, r.sector) for r in table.ranges],
    )


@cache
def _shipped() -> SectorMap:
    return _table(SECTOR_MAP_FILE.load())


def load_sector_map(path: str | os.PathLike[str] | None = None) -> SectorMap:
    """The shipped map overlaid by the user's file (`path`, else TICKSTOCK_SECTOR_MAP); the shipped map
    alone is read once per process, a user's file on every call (it may change)."""
    if SECTOR_MAP_FILE.user_path(path) is None:
        return _shipped()
    return _table(SECTOR_MAP_FILE.load(path))


def classified_share(classifications: Iterable[Classification]) -> float:
    """Share with a real sector, for the run's metadata and the sector check; 0.0 when there are none."""
    total = known = 0
    for found in classifications:
        total += 1
        known += found.sector != UNKNOWN
    return known / total if total else 0.0
