"""The cache rebuild benchmark's baseline: TickStock's previous synchronizer, re-implemented faithfully
(a query per key, an INSERT per entry, in one transaction), so `bench_cache_rebuild.py` times both alike."""

from __future__ import annotations

import json
import time
from typing import Any

import psycopg2

from tickstock_pipelines.cache.config import CacheConfig
from tickstock_pipelines.cache.entries import slug
from tickstock_pipelines.cache.families import FAMILY_NAMES
from tickstock_pipelines.cache.families.market_cap import bucket_bounds
from tickstock_pipelines.settings import libpq_uri

# --- the old synchronizer's baseline: a query per key, an INSERT per entry ------------------------------

_STOCK_COLUMNS = ("symbol, name, market_cap::float8, coalesce(sector, 'Unknown'), "
                  "coalesce(industry, sic_description), primary_exchange, market")
_STOCKS = "FROM symbols WHERE type = 'CS' AND active AND market_cap > 0"
_BY_CAP = "ORDER BY market_cap DESC, symbol"
_ETF_COLUMNS = ("symbol, name, type, primary_exchange, etf_type, issuer, underlying_index, "
                "correlation_reference, aum_millions::float8, expense_ratio::float8, "
                "avg_dollar_volume::float8")
_ETFS = "FROM symbols WHERE type = 'ETF' AND active"
_ETPS = "FROM symbols WHERE type = ANY(%s) AND active"
_BY_AUM = "ORDER BY aum_millions DESC NULLS LAST, avg_dollar_volume DESC NULLS LAST, symbol"
_SIC = "(CASE WHEN sic_code ~ '^[0-9]+$' THEN sic_code::int END)"


def _pg_regex(patterns: list[str]) -> str:
    """Python regex → PostgreSQL ARE: word boundaries are \\y there (\\b is a backspace)."""
    return "|".join(f"(?:{p})" for p in patterns).replace(r"\b", r"\y")


class SeedStyleRebuild:
    """The previous synchronizer's shape on one psycopg2 connection; counts its round trips."""

    def __init__(self, uri: str, config: CacheConfig) -> None:
        self.conn = psycopg2.connect(libpq_uri(uri))
        self.cur = self.conn.cursor()
        self.config = config
        self.queries = 0
        self.inserts = 0

    def close(self) -> None:
        self.conn.close()

    def _select(self, sql: str, params: tuple = ()) -> list[tuple]:
        self.queries += 1
        self.cur.execute(sql, params)
        return self.cur.fetchall()

    def _insert(self, type_: str, name: str, key: str, value: Any) -> None:
        self.inserts += 1
        self.cur.execute("INSERT INTO cache_entries (type, name, key, value, environment) "
                         "VALUES (%s, %s, %s, %s::jsonb, 'DEFAULT')", (type_, name, key, json.dumps(value)))

    @staticmethod
    def _universe(rows: list[tuple]) -> dict[str, Any]:
        stocks = [{"ticker": t, "name": n, "rank": i, "market_cap": c, "sector": s, "industry": ind,
                   "exchange": x, "market": m} for i, (t, n, c, s, ind, x, m) in enumerate(rows, start=1)]
        return {"count": len(stocks), "stocks": stocks}

    @staticmethod
    def _etfs(rows: list[tuple]) -> list[dict[str, Any]]:
        return [{"ticker": r[0], "name": r[1], "rank": i, "type": r[2], "exchange": r[3], "etf_type": r[4],
                 "issuer": r[5], "underlying_index": r[6], "correlation_reference": r[7],
                 "aum_millions": r[8], "expense_ratio": r[9], "avg_dollar_volume": r[10]}
                for i, r in enumerate(rows, start=1)]

    def market_cap(self) -> None:
        for key, low, high in bucket_bounds(self.config):
            upper = "" if high == float("inf") else f" AND market_cap < {high!r}"
            rows = self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} AND market_cap >= %s{upper} {_BY_CAP}",
                                (low,))
            self._insert("stock_universe", "market_cap", key, self._universe(rows))

    def sector_leaders(self) -> None:
        n = self.config.sector_leaders.top_n
        excluded = set(self.config.sector_leaders.excluded_sectors)
        for (sector,) in self._select(f"SELECT DISTINCT coalesce(sector, 'Unknown') {_STOCKS}"):
            if sector in excluded:
                continue
            rows = self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} AND coalesce(sector, 'Unknown') = %s "
                                f"{_BY_CAP} LIMIT %s", (sector, n))
            self._insert("stock_universe", "sector_leaders", f"top_{n}_{slug(sector)}", self._universe(rows))

    def market_leaders(self) -> None:
        for leaders in self.config.market_leaders:
            rows = self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} {_BY_CAP} LIMIT %s", (leaders.size,))
            self._insert("stock_universe", "market_leaders", leaders.key, self._universe(rows))

    def themes(self) -> None:
        for key, theme in self.config.themes.items():
            configured = list(dict.fromkeys(theme.tickers))
            found = {r[0] for r in self._select(
                "SELECT symbol FROM symbols WHERE active AND symbol = ANY(%s)", (configured,))}
            members = [t for t in configured if t in found]
            self._insert("themes", theme.display_name, "list", members)
            self._insert("stock_universe", "themes", key, members)

    def industry(self) -> None:
        for key, group in self.config.industries.items():
            clauses, params = [], []
            if group.sic_codes:
                clauses.append(f"{_SIC} = ANY(%s)")
                params.append(group.sic_codes)
            for low, high in group.sic_ranges:
                clauses.append(f"{_SIC} BETWEEN %s AND %s")
                params += [low, high]
            if group.industry_patterns:
                clauses.append("(industry ~* %s OR sic_description ~* %s)")
                params += [_pg_regex(group.industry_patterns)] * 2
            rows = self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} AND ({' OR '.join(clauses)}) {_BY_CAP}",
                                tuple(params))
            self._insert("stock_universe", "industry", key, self._universe(rows))

    def etf_universes(self) -> None:
        for key, category in self.config.etf_categories.items():
            rules, params = [], []
            if category.name_patterns:
                rules.append("name ~* %s")
                params.append(_pg_regex(category.name_patterns))
            if category.underlying_index_patterns:
                rules.append("coalesce(underlying_index, '') ~* %s")
                params.append(_pg_regex(category.underlying_index_patterns))
            by_rule = f"({' OR '.join(rules)})" if rules else ("true" if category.every_etf else "false")
            if category.exclude_name_patterns:
                by_rule += " AND NOT name ~* %s"
                params.append(_pg_regex(category.exclude_name_patterns))
            # Every fragment is a constant of this module; values go as parameters.
            sql = f"SELECT {_ETF_COLUMNS} {_ETFS} AND (symbol = ANY(%s) OR ({by_rule})) {_BY_AUM}"
            rows = self._select(sql, (category.tickers, *params))
            self._insert("etf_universe", category.display_name, key, [r[0] for r in rows])
            details = self._etfs(rows)
            self._insert("etf_universe", category.display_name, f"{key}_detailed",
                         {"count": len(details), "etfs": details})

    def complete(self) -> None:
        top = self.config.complete.stocks_top_n
        rows = self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} {_BY_CAP} LIMIT %s", (top,))
        self._insert("stock_universe", "complete", f"top_{top}", self._universe(rows))
        ranked = [r[0] for r in self._select(f"SELECT symbol {_STOCKS} {_BY_CAP}")]
        rest = [r[0] for r in self._select("SELECT symbol FROM symbols WHERE type = 'CS' AND active "
                                           "AND NOT coalesce(market_cap > 0, false) ORDER BY symbol")]
        self._insert("stock_universe", "complete", "all_stocks", ranked + rest)
        top_etfs = self.config.complete.etfs_top_n
        details = self._etfs(self._select(f"SELECT {_ETF_COLUMNS} {_ETFS} {_BY_AUM} LIMIT %s", (top_etfs,)))
        self._insert("etf_universe", "complete", f"top_{top_etfs}", {"count": len(details), "etfs": details})
        etfs = [r[0] for r in self._select(f"SELECT symbol {_ETFS} {_BY_AUM}")]
        self._insert("etf_universe", "complete", "all_etfs", etfs)
        types = (self.config.complete.etp_types,)
        etps = [r[0] for r in self._select(f"SELECT symbol {_ETPS} {_BY_AUM}", types)]
        self._insert("etf_universe", "complete", "all_etps", etps)

    def combo(self) -> None:
        combo = self.config.combo
        stocks = self._universe(self._select(f"SELECT {_STOCK_COLUMNS} {_STOCKS} {_BY_CAP} LIMIT %s",
                                             (combo.top_stocks,)))["stocks"]
        loaded = {r[0]: r for r in self._select(
            f"SELECT symbol, name, etf_type, issuer, primary_exchange, market {_ETPS} AND symbol = ANY(%s)",
            (self.config.complete.etp_types, combo.essential_etfs))}
        etfs = [loaded[t] for t in dict.fromkeys(combo.essential_etfs) if t in loaded]
        members = [s["ticker"] for s in stocks] + [e[0] for e in etfs]
        self._insert("stock_etf_combo", combo.name, combo.key, members)
        self._insert("stock_etf_combo", combo.name, f"{combo.key}_detailed", {
            "count": len(stocks) + len(etfs), "description": combo.description,
            "composition": {"stocks": len(stocks), "etfs": len(etfs)},
            "stocks": [{**s, "type": "stock"} for s in stocks],
            "etfs": [{"name": n, "ticker": t, "etf_type": e, "issuer": i, "exchange": x, "market": m,
                      "type": "etf"} for t, n, e, i, x, m in etfs]})

    def stats(self) -> None:
        one = self._select
        overview = {
            "total_stocks": one("SELECT count(*) FROM symbols WHERE type = 'CS' AND active")[0][0],
            "stocks_with_market_cap": one(f"SELECT count(*) {_STOCKS}")[0][0],
            "total_etfs": one("SELECT count(*) FROM symbols WHERE type = 'ETF' AND active")[0][0],
            "total_etps": one("SELECT count(*) FROM symbols WHERE type = ANY(%s) AND active",
                              (self.config.complete.etp_types,))[0][0],
            "total_market_cap": one(f"SELECT coalesce(sum(market_cap), 0)::float8 {_STOCKS}")[0][0],
            "average_market_cap": one(f"SELECT coalesce(avg(market_cap), 0)::float8 {_STOCKS}")[0][0],
            "median_market_cap": one(f"SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY market_cap) "
                                     f"{_STOCKS}")[0][0],
            "unique_sectors": one("SELECT count(DISTINCT sector) FROM symbols WHERE type = 'CS' AND active "
                                  "AND sector <> 'Unknown'")[0][0],
            "unique_industries": one("SELECT count(DISTINCT industry) FROM symbols WHERE type = 'CS' "
                                     "AND active")[0][0],
            "unique_exchanges": one("SELECT count(DISTINCT primary_exchange) FROM symbols WHERE type = 'CS' "
                                    "AND active")[0][0],
            "inactive_symbols": one("SELECT count(*) FROM symbols WHERE NOT active")[0][0],
            "last_updated": one("SELECT max(last_updated) FROM symbols WHERE active")[0][0].isoformat(),
        }
        sectors = {}
        for (sector,) in one(f"SELECT DISTINCT coalesce(sector, 'Unknown') {_STOCKS} ORDER BY 1"):
            count, cap = one(f"SELECT count(*), sum(market_cap)::float8 {_STOCKS} "
                             "AND coalesce(sector, 'Unknown') = %s", (sector,))[0]
            sectors[sector] = {"count": count, "market_cap": cap}
        buckets = {}
        for key, low, high in bucket_bounds(self.config):
            upper = "" if high == float("inf") else f" AND market_cap < {high!r}"
            buckets[key] = one(f"SELECT count(*) {_STOCKS} AND market_cap >= %s{upper}", (low,))[0][0]
        self._insert("stock_stats", "universe", "summary",
                     {"overview": overview, "sectors": sectors, "market_cap_buckets": buckets})

    def run(self) -> dict[str, float]:
        """Delete every family row, rebuild family by family, commit: seconds per step."""
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        self.queries = self.inserts = 0
        self.cur.execute("DELETE FROM cache_entries WHERE type NOT IN ('app_settings', 'cache_config')")
        seconds["delete"] = time.perf_counter() - start
        for family in FAMILY_NAMES:
            t = time.perf_counter()
            getattr(self, family)()
            seconds[family] = time.perf_counter() - t
        t = time.perf_counter()
        self.conn.commit()
        seconds["commit"] = time.perf_counter() - t
        seconds["total"] = time.perf_counter() - start
        return seconds
