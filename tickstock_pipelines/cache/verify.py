"""The cache's success criteria as functions of (cache, symbols), shared by asset checks and the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import slug, tickers_of
from tickstock_pipelines.cache.families.market_cap import bucket_bounds
from tickstock_pipelines.cache.views import active_stocks, etfs, ordered_products, ranked_stocks, sectors
from tickstock_pipelines.loading.sectors import SECTORS, UNKNOWN

Ident = tuple[str, str, str]
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


# The kinds of category the coverage figure is given for, by the (type, name) of their entries. Market-cap
# buckets hold every stock with a market cap by construction and `every_etf` categories (etf_all) every
# ETF: they are shown, but only the selective kinds count towards coverage.
STOCK_KINDS = ("market_cap", "sector_leaders", "themes", "industries")
SELECTIVE_STOCK_KINDS = ("sector_leaders", "themes", "industries")
_STOCK_KIND_OF = {"market_cap": "market_cap", "sector_leaders": "sector_leaders", "themes": "themes",
                  "industry": "industries"}


def _members_by_kind(cache: dict[Ident, Any], config: CacheConfig) -> dict[str, set[str]]:
    every = {key for key, c in config.etf_categories.items() if c.every_etf}
    every |= {f"{key}_detailed" for key in every}
    kinds: dict[str, set[str]] = {k: set() for k in (*STOCK_KINDS, "etf_categories")}
    for (type_, name, key), value in cache.items():
        if type_ == "themes" or (type_ == "stock_universe" and name in _STOCK_KIND_OF):
            kinds["themes" if type_ == "themes" else _STOCK_KIND_OF[name]].update(tickers_of(value) or [])
        elif type_ == "etf_universe" and name != "complete" and key not in every:
            kinds["etf_categories"].update(tickers_of(value) or [])
    return kinds


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 1.0


def coverage(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """Share of active stocks and ETFs in a selective category (sector leaders, a theme or an industry
    group for a stock; an ETF category other than etf_all for an ETF), with the figure of every kind."""
    kinds = _members_by_kind(cache, config)
    stocks, etf_list = active_stocks(symbols)["symbol"].tolist(), etfs(symbols)["symbol"].tolist()
    by_kind = {kind: {"members": len(kinds[kind] & set(stocks)), "of": len(stocks),
                      "share": _share(len(kinds[kind] & set(stocks)), len(stocks))} for kind in STOCK_KINDS}
    in_etf_category = kinds["etf_categories"] & set(etf_list)
    by_kind["etf_categories"] = {"members": len(in_etf_category), "of": len(etf_list),
                                 "share": _share(len(in_etf_category), len(etf_list))}
    selective = set().union(*(kinds[k] for k in SELECTIVE_STOCK_KINDS))
    stocks_covered = [t for t in stocks if t in selective]
    etfs_covered = [t for t in etf_list if t in in_etf_category]
    covered, total = len(stocks_covered) + len(etfs_covered), len(stocks) + len(etf_list)
    share, goal = _share(covered, total), config.quality.coverage_goal
    missing = sorted(set(stocks) - set(stocks_covered)) + sorted(set(etf_list) - set(etfs_covered))
    summary = (f"{share:.1%} of {total} active stocks and ETFs in a category (goal {goal:.0%}): stocks "
               f"{_share(len(stocks_covered), len(stocks)):.1%} (sector leaders, themes, industries), ETFs "
               f"{by_kind['etf_categories']['share']:.1%} (ETF categories); market-cap buckets "
               f"{by_kind['market_cap']['share']:.1%} by construction")
    return Verdict(share >= goal, summary, {
        "covered": covered, "total": total, "share": share, "goal": goal,
        "stocks": {"covered": len(stocks_covered), "total": len(stocks),
                   "share": _share(len(stocks_covered), len(stocks))},
        "etfs": {"covered": len(etfs_covered), "total": len(etf_list),
                 "share": _share(len(etfs_covered), len(etf_list))},
        "by_kind": by_kind, "uncovered": len(missing), "uncovered_sample": missing[:_SAMPLE]})


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


def sic_classified(symbols: pd.DataFrame) -> dict[str, Any]:
    """Active stocks with a SIC code, and the share the sector map gives a real sector (not Unknown)."""
    stocks = active_stocks(symbols)
    coded = stocks[stocks["sic_code"].notna() & (stocks["sic_code"].astype(str).str.strip() != "")]
    known = int((sectors(coded) != UNKNOWN).sum())
    unknown_codes = sorted(set(coded.loc[sectors(coded) == UNKNOWN, "sic_code"].astype(str)))
    return {"sic_coded_stocks": len(coded), "classified": known, "share": _share(known, len(coded)),
            "unclassified_codes": unknown_codes[:_SAMPLE]}


def sector_leaders_present(cache: dict[Ident, Any], symbols: pd.DataFrame, config: CacheConfig) -> Verdict:
    """Checked against TickStock's eleven sectors: every one that has ranked stocks has a non-empty leaders
    key, and no stock carries a name outside the eleven; the sectors without leaders are named."""
    n, excluded = config.sector_leaders.top_n, set(config.sector_leaders.excluded_sectors)
    eleven = [s for s in SECTORS if s not in excluded]
    present = set(sectors(ranked_stocks(symbols))) - excluded
    with_leaders = [s for s in eleven
                    if tickers_of(cache.get(("stock_universe", "sector_leaders", f"top_{n}_{slug(s)}")))]
    without = [s for s in eleven if s not in with_leaders]
    missing = [s for s in without if s in present]  # stocks there, but no leaders: the cache is wrong
    unexpected = sorted(present - set(SECTORS) - {UNKNOWN})
    summary = f"{len(with_leaders)} of {len(eleven)} sectors have leaders"
    if without:
        summary += f"; none for {', '.join(without)}"
        if missing:
            summary += f" ({', '.join(missing)} with stocks)"
    if unexpected:
        summary += f"; sector names TickStock does not know: {', '.join(unexpected)}"
    return Verdict(not missing and not unexpected, summary,
                   {"sectors": eleven, "with_leaders": with_leaders, "without_leaders": without,
                    "missing": missing, "unexpected": unexpected, "sic": sic_classified(symbols)})


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
