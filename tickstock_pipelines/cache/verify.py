"""The seed's success criteria as functions of (cache, symbols), shared by asset checks and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import slug, tickers_of
from tickstock_pipelines.cache.families.market_cap import bucket_bounds
from tickstock_pipelines.cache.views import active_stocks, etfs, ordered_products, ranked_stocks, sectors

Ident = tuple[str, str, str]
# Universes that put a stock in a "category" (complete lists hold everything, so they do not count).
CATEGORY_NAMES = frozenset({"market_cap", "sector_leaders", "market_leaders", "themes", "industry"})
_SAMPLE = 20


@dataclass
class Verdict:
    passed: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


def read_cache(conn: sa.Connection | sa.Engine, environment: str) -> dict[Ident, Any]:
    """Every entry of the environment, value parsed (one query)."""
    if isinstance(conn, sa.Engine):
        with conn.connect() as c:
            return read_cache(c, environment)
    rows = conn.execute(sa.text("SELECT type, name, key, value FROM cache_entries WHERE environment = :env"),
                        {"env": environment}).all()
    return {(r.type, r.name, r.key): r.value for r in rows}


def coverage(cache: dict[Ident, Any], symbols: pd.DataFrame, goal: float) -> Verdict:
    """Share of active stocks in at least one category: market cap, sector, leaders, theme or industry."""
    categorised: set[str] = set()
    for (type_, name, _), value in cache.items():
        if (type_ == "stock_universe" and name in CATEGORY_NAMES) or type_ == "themes":
            categorised.update(tickers_of(value) or [])
    stocks = active_stocks(symbols)["symbol"].tolist()
    covered = [t for t in stocks if t in categorised]
    share = len(covered) / len(stocks) if stocks else 1.0
    missing = sorted(set(stocks) - set(covered))
    summary = f"{share:.1%} of {len(stocks)} active stocks in a category (goal {goal:.0%})"
    return Verdict(share >= goal, summary,
                   {"covered": len(covered), "total": len(stocks), "share": round(share, 4), "goal": goal,
                    "uncovered": len(missing), "uncovered_sample": missing[:_SAMPLE]})


def bucket_consistency(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """Each bucket member's `symbols.market_cap` lies in its bucket; every ranked stock is in exactly one."""
    caps = dict(zip(symbols["symbol"].tolist(), symbols["market_cap"].tolist(), strict=True))
    mismatches, seen = [], {}
    for key, low, high in bucket_bounds(config):
        for ticker in tickers_of(cache.get(("stock_universe", "market_cap", key))) or []:
            seen[ticker] = seen.get(ticker, 0) + 1
            cap = caps.get(ticker)
            if cap is None or cap != cap or not (low <= cap < high):
                mismatches.append({"ticker": ticker, "bucket": key, "market_cap": cap})
    expected = ranked_stocks(symbols)["symbol"].tolist()
    unbucketed = [t for t in expected if t not in seen]
    duplicated = sorted(t for t, n in seen.items() if n > 1)
    missing_keys = [k for k, _, _ in bucket_bounds(config)
                    if ("stock_universe", "market_cap", k) not in cache]
    passed = not (mismatches or unbucketed or duplicated or missing_keys)
    return Verdict(passed, f"{len(mismatches)} mismatched, {len(unbucketed)} unbucketed, "
                           f"{len(duplicated)} in two buckets, {len(missing_keys)} bucket keys missing",
                   {"mismatches": len(mismatches), "mismatch_sample": mismatches[:_SAMPLE],
                    "unbucketed": len(unbucketed), "unbucketed_sample": unbucketed[:_SAMPLE],
                    "duplicated": duplicated[:_SAMPLE], "missing_keys": missing_keys})


def sector_leaders_present(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """Every sector of a ranked stock (except the excluded `Unknown`) has a non-empty leaders key."""
    n = config.sector_leaders.top_n
    present = sorted(set(sectors(ranked_stocks(symbols))) - set(config.sector_leaders.excluded_sectors))
    missing = [s for s in present
               if not tickers_of(cache.get(("stock_universe", "sector_leaders", f"top_{n}_{slug(s)}")))]
    return Verdict(not missing, f"{len(present) - len(missing)} of {len(present)} sectors have leaders",
                   {"sectors": present, "missing": missing})


def themes_loaded(cache: dict[Ident, Any], symbols: pd.DataFrame) -> Verdict:
    """Theme entries (both locations) hold only tickers active in `symbols`."""
    active = set(symbols.loc[symbols["active"], "symbol"].tolist())
    strays = {}
    for (type_, name, key), value in cache.items():
        if type_ == "themes" or (type_ == "stock_universe" and name == "themes"):
            bad = [t for t in tickers_of(value) or [] if t not in active]
            if bad:
                strays[f"{type_}|{name}|{key}"] = bad
    return Verdict(not strays, f"{len(strays)} theme entries hold tickers not loaded", {"strays": strays})


def complete_counts(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """`all_stocks`, `all_etfs` and `all_etps` hold exactly the active stocks, ETFs and ETPs of `symbols`."""
    expected = {
        ("stock_universe", "complete", "all_stocks"): set(active_stocks(symbols)["symbol"].tolist()),
        ("etf_universe", "complete", "all_etfs"): set(etfs(symbols)["symbol"].tolist()),
        ("etf_universe", "complete", "all_etps"):
            set(ordered_products(symbols, config.complete.etp_types)["symbol"].tolist()),
    }
    details, passed = {}, True
    for ident, want in expected.items():
        have = tickers_of(cache.get(ident))
        have_set = set(have or [])
        ok = have is not None and len(have) == len(want) and have_set == want
        passed &= ok
        details[ident[2]] = {"cache": None if have is None else len(have), "symbols": len(want),
                             "missing": sorted(want - have_set)[:_SAMPLE],
                             "extra": sorted(have_set - want)[:_SAMPLE]}
    summary = ", ".join(f"{k} {v['cache']}/{v['symbols']}" for k, v in details.items())
    return Verdict(passed, summary, details)


def combo_consistent(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """`combo_test` is the top N stocks then the loaded essential ETFs, and `_detailed` lists the same
    members with counts, composition and member types that agree."""
    from tickstock_pipelines.cache.families import combo as combo_family

    stocks, etf_rows = combo_family.members(symbols, config)
    expected = stocks["symbol"].tolist() + etf_rows["symbol"].tolist()
    name, key = config.combo.name, config.combo.key
    plain = cache.get((combo_family.TYPE, name, key))
    detail = cache.get((combo_family.TYPE, name, f"{key}_detailed")) or {}
    listed_stocks = [s.get("ticker") for s in detail.get("stocks", []) if s.get("type") == "stock"]
    listed_etfs = [e.get("ticker") for e in detail.get("etfs", []) if e.get("type") == "etf"]
    problems = []
    if plain != expected:
        problems.append(f"{key} is not the top {config.combo.top_stocks} stocks, then the loaded essentials")
    if listed_stocks + listed_etfs != expected:
        problems.append(f"{key}_detailed members differ")
    if detail.get("count") != len(expected) or detail.get("composition") != {
            "stocks": len(stocks), "etfs": len(etf_rows)}:
        problems.append(f"{key}_detailed count or composition is wrong")
    summary = (f"{len(stocks)} stocks + {len(etf_rows)} essential ETFs"
               + (f": {'; '.join(problems)}" if problems else ", both entries agree"))
    return Verdict(not problems, summary,
                   {"stocks": len(stocks), "etfs": len(etf_rows), "problems": problems,
                    "essential_etfs_not_loaded": [t for t in config.combo.essential_etfs
                                                  if t not in set(etf_rows["symbol"])][:_SAMPLE]})
