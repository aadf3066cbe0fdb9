"""`tickstock cache report`: every figure that verifies a rebuild, as data first and text or JSON second.

Counts by type/name/key, freshness, comparison with `symbols`, coverage and quality metrics, and
recommendations, each of which appears only when its condition is true.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tickstock_pipelines.cache import verify
from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import FAMILY_OWNED_TYPES, tickers_of
from tickstock_pipelines.cache.families import FAMILY_NAMES, family_of
from tickstock_pipelines.cache.frame import read_symbols
from tickstock_pipelines.cache.symbol_kinds import kinds_line, rows_by_kind
from tickstock_pipelines.cache.views import UNKNOWN_SECTOR, active_stocks, etfs, ranked_stocks, sectors

_ROWS = sa.text(
    "SELECT type, name, key, value, created_at, updated_at FROM cache_entries WHERE environment = :env"
    " ORDER BY type, name, key"
)


def _count(value: Any) -> int | None:
    if isinstance(value, dict) and isinstance(value.get("count"), int):
        return value["count"]
    members = tickers_of(value)
    return None if members is None else len(members)


# The monthly refresh re-fetches details oldest first, a budget's worth at a time: how far behind is it?
_OLDEST_DETAILS = sa.text("SELECT min(details_updated_at) FROM symbols WHERE active")


def build_report(engine: sa.Engine, config: CacheConfig, *, environment: str = "DEFAULT",
                 symbols_filter: list[str] | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The whole report as one JSON-ready dict (two queries: cache entries and symbols)."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(_ROWS, {"env": environment}).all()
        symbols = read_symbols(conn)
        oldest_details = conn.execute(_OLDEST_DETAILS).scalar_one_or_none()
    cache = {(r.type, r.name, r.key): r.value for r in rows}

    entries = [{"type": r.type, "name": r.name, "key": r.key, "count": _count(r.value),
                "created_at": r.created_at.isoformat(), "updated_at": r.updated_at.isoformat()} for r in rows]
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        g = groups.setdefault((r.type, r.name), {"type": r.type, "name": r.name, "entries": 0,
                                                 "oldest_update": r.updated_at,
                                                 "newest_update": r.updated_at})
        g["entries"] += 1
        g["oldest_update"] = min(g["oldest_update"], r.updated_at)
        g["newest_update"] = max(g["newest_update"], r.updated_at)
    group_list = [{**g, "oldest_update": g["oldest_update"].isoformat(),
                   "newest_update": g["newest_update"].isoformat()} for g in groups.values()]

    report: dict[str, Any] = {
        "generated_at": now.isoformat(),
        "environment": environment,
        "totals": {"entries": len(rows), "by_type": dict(Counter(r.type for r in rows))},
        "groups": group_list,
        "entries": entries,
        "freshness": _freshness(rows, cache, symbols, config, now),
        "symbols": _comparison(cache, symbols, config),
        "coverage": verify.coverage(cache, symbols, config).details,  # the same figures as the checks
        "quality": _quality(cache, symbols, config),
    }
    age = (now - oldest_details).total_seconds() / 86400 if oldest_details else None
    report["freshness"] |= {"oldest_details_at": oldest_details.isoformat() if oldest_details else None,
                            "oldest_details_age_days": round(age, 2) if age is not None else None}
    report["recommendations"] = _recommendations(report, config)
    if symbols_filter:
        report["symbol_detail"] = _symbol_detail(cache, symbols, symbols_filter)
    return report


def _freshness(rows: list, cache: dict, symbols: pd.DataFrame, config: CacheConfig,
               now: datetime) -> dict[str, Any]:
    stamp = symbols.loc[symbols["active"], "last_updated"].max() if len(symbols) else None
    symbols_updated = None if stamp is None or pd.isna(stamp) else stamp.to_pydatetime()
    summary = cache.get(("stock_stats", "universe", "summary")) or {}
    built_from = (summary.get("overview") or {}).get("last_updated")
    newest = max((r.updated_at for r in rows), default=None)
    age_days = (now - symbols_updated).total_seconds() / 86400 if symbols_updated else None
    return {
        "newest_update": newest.isoformat() if newest else None,
        "oldest_update": min(r.updated_at for r in rows).isoformat() if rows else None,
        "symbols_last_updated": symbols_updated.isoformat() if symbols_updated else None,
        "symbols_age_days": round(age_days, 2) if age_days is not None else None,
        "cache_built_from_symbols_at": built_from,
        # The summary records the newest symbols timestamp it was built from: equal means up to date.
        "cache_current": bool(symbols_updated and built_from == symbols_updated.isoformat()),
        "stale_after_days": config.quality.stale_after_days,
    }


def _comparison(cache: dict, symbols: pd.DataFrame, config: CacheConfig) -> dict[str, Any]:
    counts = verify.complete_counts(cache, symbols, config)
    return {
        "symbols_rows": len(symbols),
        "active_stocks": len(active_stocks(symbols)),
        "stocks_with_market_cap": len(ranked_stocks(symbols)),
        "active_etfs": len(etfs(symbols)),
        "inactive": int((~symbols["active"]).sum()),
        "by_type": {str(k): int(v) for k, v in symbols.loc[symbols["active"], "type"].value_counts().items()},
        **rows_by_kind(symbols),
        "complete_lists_match": counts.passed,
        "complete_lists": counts.details,
    }


def _quality(cache: dict, symbols: pd.DataFrame, config: CacheConfig) -> dict[str, Any]:
    buckets = verify.bucket_consistency(cache, symbols, config)
    leaders = verify.sector_leaders_present(cache, symbols, config)
    themes = verify.themes_loaded(cache, symbols)
    stocks, etf_rows = active_stocks(symbols), etfs(symbols)
    configured = {t for theme in config.themes.values() for t in theme.tickers}
    loaded = set(symbols.loc[symbols["active"], "symbol"].tolist())
    present = {(t, n) for t, n, _ in cache}
    return {
        "market_cap_buckets_consistent": buckets.passed,
        "market_cap_buckets": buckets.details,
        "sectors_without_leaders": leaders.details["missing"],
        "sectors": {**leaders.details, "summary": leaders.summary},
        "theme_entries_with_unloaded_tickers": themes.details["strays"],
        "configured_theme_tickers_not_loaded": sorted(configured - loaded),
        "stocks_unknown_sector": int((sectors(stocks) == UNKNOWN_SECTOR).sum()),
        "stocks_without_market_cap": len(stocks) - len(ranked_stocks(symbols)),
        "etfs_without_aum": int(etf_rows["aum_millions"].isna().sum()),
        "etfs_without_issuer": int(etf_rows["issuer"].isna().sum()),
        "empty_universes": sorted(f"{t}|{n}|{k}" for (t, n, k), v in cache.items()
                                  if t in FAMILY_OWNED_TYPES and _count(v) == 0),
        "families_missing": [f for f in FAMILY_NAMES
                             if not any(family_of(t, n) == f for t, n in present)],
        "protected_rows": sum(1 for t, _, _ in cache if t not in FAMILY_OWNED_TYPES),
    }


def _recommendations(report: dict[str, Any], config: CacheConfig) -> list[dict[str, str]]:
    """Each fires only when its condition holds; an empty list means nothing to do."""
    out: list[dict[str, str]] = []

    def add(code: str, message: str) -> None:
        out.append({"code": code, "message": message})

    sym, q, fresh, cov = report["symbols"], report["quality"], report["freshness"], report["coverage"]
    if sym["symbols_rows"] == 0:
        add("no_symbols", "symbols is empty: load symbols first (tickstock load --universe sp500)")
    if report["totals"]["entries"] == 0:
        add("no_cache", "no cache entries in this environment: run `tickstock cache rebuild`")
    elif q["families_missing"]:
        add("families_missing",
            f"no entries for {', '.join(q['families_missing'])}: run `tickstock cache rebuild`")
    if report["totals"]["entries"] and sym["symbols_rows"] and not fresh["cache_current"]:
        add("cache_behind_symbols", "symbols changed after the last rebuild: run `tickstock cache rebuild`")
    if fresh["symbols_age_days"] is not None and fresh["symbols_age_days"] > config.quality.stale_after_days:
        add("symbols_stale", f"symbols last refreshed {fresh['symbols_age_days']:.0f} days ago: run the "
                             "weekly refresh (tickstock load) and rebuild")
    if sym["symbols_rows"] and cov["share"] < cov["goal"]:
        add("coverage_below_goal", f"{cov['uncovered']} active stocks and ETFs are in no category "
                                   f"({cov['share']:.1%} < {cov['goal']:.0%}): add industry groups, themes "
                                   "or ETF categories in the cache config")
    if q["stocks_without_market_cap"]:
        add("missing_market_caps", f"{q['stocks_without_market_cap']} active common stocks have no market "
                                   "cap and are left out of ranked universes: reload their details")
    if report["totals"]["entries"] and not q["market_cap_buckets_consistent"]:
        add("buckets_inconsistent", "market-cap buckets disagree with symbols.market_cap: rebuild the cache")
    if report["totals"]["entries"] and q["sectors_without_leaders"]:
        add("sectors_without_leaders", f"no leaders for {', '.join(q['sectors_without_leaders'])}: rebuild")
    if q["theme_entries_with_unloaded_tickers"]:
        add("themes_hold_unloaded", "theme entries list tickers that are not loaded: rebuild the cache")
    if report["totals"]["entries"] and not sym["complete_lists_match"]:
        add("complete_lists_mismatch", "all_stocks / all_etfs / all_etps differ from symbols: rebuild")
    if q["configured_theme_tickers_not_loaded"]:
        sample = ",".join(q["configured_theme_tickers_not_loaded"][:10])
        add("theme_tickers_not_loaded",
            f"{len(q['configured_theme_tickers_not_loaded'])} configured theme tickers are not loaded "
            f"(e.g. {sample}): tickstock load --symbols ...")
    if sym["active_stocks"] and q["stocks_unknown_sector"] / sym["active_stocks"] > 0.05:
        add("unknown_sectors", f"{q['stocks_unknown_sector']} active common stocks have sector Unknown (SIC "
                               "maps to no sector): they never lead a sector")
    if q["empty_universes"]:
        add("empty_universes", f"{len(q['empty_universes'])} universes are empty (e.g. "
                               f"{q['empty_universes'][0]}): check the cache config")
    return out


def _symbol_detail(cache: dict, symbols: pd.DataFrame, tickers: list[str]) -> dict[str, Any]:
    """Per requested ticker: its symbols row and every universe that lists it."""
    membership: dict[str, list[str]] = defaultdict(list)
    wanted = set(tickers)
    for (t, n, k), value in cache.items():
        for ticker in set(tickers_of(value) or []) & wanted:
            membership[ticker].append(f"{t}|{n}|{k}")
    rows = symbols.set_index("symbol")
    out = {}
    for ticker in tickers:
        row = rows.loc[ticker] if ticker in rows.index else None
        out[ticker] = {
            "in_symbols": row is not None,
            "type": None if row is None else row["type"],
            "active": None if row is None else bool(row["active"]),
            "market_cap": None if row is None or pd.isna(row["market_cap"]) else float(row["market_cap"]),
            "sector": None if row is None else row["sector"],
            "industry": None if row is None else row["industry"],
            "universes": sorted(membership.get(ticker, [])),
        }
    return out


def render_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)


def render_text(report: dict[str, Any]) -> str:
    """The human rendering: the same facts as the JSON, section by section."""
    lines = [f"TickStock cache report — environment {report['environment']} — {report['generated_at']}", ""]
    lines.append(f"Entries: {report['totals']['entries']}  "
                 + "  ".join(f"{t}={n}" for t, n in sorted(report["totals"]["by_type"].items())))
    lines += ["", "By type | name (entries, newest update):"]
    for g in report["groups"]:
        lines.append(f"  {g['type']:<15} {g['name']:<28} {g['entries']:>4}  {g['newest_update']}")
    lines += ["", "By type | name | key (count):"]
    for e in report["entries"]:
        count = "-" if e["count"] is None else e["count"]
        lines.append(f"  {e['type']}|{e['name']}|{e['key']}: {count}")
    f = report["freshness"]
    lines += ["", "Freshness:",
              f"  newest entry update {f['newest_update']}, oldest {f['oldest_update']}",
              f"  symbols last updated {f['symbols_last_updated']} ({f['symbols_age_days']} days ago)",
              f"  oldest ticker details {f['oldest_details_at']} ({f['oldest_details_age_days']} days old)",
              f"  cache built from symbols at {f['cache_built_from_symbols_at']}: "
              f"{'current' if f['cache_current'] else 'BEHIND symbols'}"]
    s = report["symbols"]
    lines += ["", "Comparison with symbols:",
              f"  {kinds_line(s['symbols_rows'], s['rows_by_kind'], s['other_types'])}; {s['inactive']} "
              f"inactive",
              f"  active: {s['active_stocks']} common stocks ({s['stocks_with_market_cap']} with market "
              f"cap), {s['active_etfs']} ETFs",
              "  " + ", ".join(f"{k}: cache {v['cache']} / symbols {v['symbols']}"
                               for k, v in s["complete_lists"].items())]
    c, q = report["coverage"], report["quality"]
    lines += ["", "Coverage and quality:",
              f"  coverage {c['share']:.1%} ({c['covered']}/{c['total']} active stocks and ETFs in a "
              f"category; goal {c['goal']:.0%}): "
              + ", ".join(f"{k} {v['share']:.1%}" for k, v in c["by_kind"].items()),
              f"  sectors: {q['sectors']['summary']}; SIC-coded stocks classified "
              f"{q['sectors']['sic']['share']:.1%} of {q['sectors']['sic']['sic_coded_stocks']}",
              f"  market-cap buckets consistent: {'yes' if q['market_cap_buckets_consistent'] else 'NO'}",
              f"  sectors without leaders: {', '.join(q['sectors_without_leaders']) or 'none'}",
              f"  stocks without market cap {q['stocks_without_market_cap']}, sector Unknown "
              f"{q['stocks_unknown_sector']}; ETFs without AUM {q['etfs_without_aum']}",
              f"  empty universes {len(q['empty_universes'])}; protected rows {q['protected_rows']}"]
    if "symbol_detail" in report:
        lines += ["", "Symbols:"]
        for ticker, d in report["symbol_detail"].items():
            if not d["in_symbols"]:
                lines.append(f"  {ticker}: not in symbols")
                continue
            lines.append(f"  {ticker}: {d['type']}, {'active' if d['active'] else 'inactive'}, "
                         f"sector {d['sector']}, market cap {d['market_cap']}, "
                         f"in {len(d['universes'])} universes")
            lines += [f"    {u}" for u in d["universes"]]
    lines += ["", "Recommendations:"]
    lines += [f"  - {r['message']}" for r in report["recommendations"]] or ["  none: the cache looks right"]
    return "\n".join(lines)
