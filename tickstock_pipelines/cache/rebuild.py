"""One rebuild: read `symbols` once, build the selected families, commit them together (timed per step)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa

from tickstock_pipelines.cache.commit import CommitResult, Mode, commit_entries
from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import CacheEntry
from tickstock_pipelines.cache.families import FAMILIES, FAMILY_NAMES, build_families
from tickstock_pipelines.cache.frame import read_symbols


@dataclass
class Rebuild:
    symbols: pd.DataFrame
    entries: dict[str, list[CacheEntry]]
    result: CommitResult
    seconds: dict[str, float] = field(default_factory=dict)  # read, <family>…, commit, total


def rebuild(engine: sa.Engine, config: CacheConfig, *, families: Sequence[str] = FAMILY_NAMES,
            mode: Mode = "replace", environment: str = "DEFAULT",
            log: Callable[[str], None] = lambda _: None) -> Rebuild:
    """Nothing is written unless every selected family builds; the commit is all or nothing."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown cache families: {sorted(unknown)}")
    ordered = [f for f in FAMILY_NAMES if f in families]
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    symbols = read_symbols(engine)
    seconds["read"] = time.perf_counter() - start
    log(f"read {len(symbols)} symbols in {seconds['read']:.3f}s")
    entries: dict[str, list[CacheEntry]] = {}
    for family in ordered:
        t = time.perf_counter()
        entries.update(build_families(symbols, config, (family,)))
        seconds[family] = time.perf_counter() - t
        log(f"built {family}: {len(entries[family])} entries in {seconds[family]:.3f}s")
    t = time.perf_counter()
    result = commit_entries(engine, entries, mode=mode, environment=environment)
    seconds["commit"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - start
    log(f"committed {result.total('produced')} entries ({mode}) in {seconds['commit']:.3f}s")
    return Rebuild(symbols, entries, result, seconds)
