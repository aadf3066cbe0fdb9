"""One load of daily bars for a set of symbols, shared by the `ohlcv_daily` asset and `backfill_symbols`.

The asset runs it over a run's partition range; the `backfill_symbols` job over any list of symbols (a
UI backfill of scattered partitions is one run per contiguous range in Dagster 1.13). Both record the
same figures: each symbol's own on its partition, the totals on the run.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    Config,
    Failure,
    MetadataValue,
    OpExecutionContext,
)
from pydantic import Field

from tickstock_pipelines.assets.bar_metadata import gap_ranges, stored_by_symbol, symbol_figures
from tickstock_pipelines.assets.metadata import announce_sandbox, api_calls, listed, markdown_table
from tickstock_pipelines.loading.completeness import failed_symbols, owed_json
from tickstock_pipelines.loading.coverage import Gap, missing_gaps
from tickstock_pipelines.loading.daily import DailyOutcome, load_daily
from tickstock_pipelines.loading.market_caps import derive_market_caps
from tickstock_pipelines.loading.plan_limits import fetch_within_plan, plan_limit_metadata
from tickstock_pipelines.loading.planner import CallPlan, plan_daily
from tickstock_pipelines.loading.quality import missing_sessions, stale_symbols
from tickstock_pipelines.loading.splits import check_splits
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import InvalidBar, PolygonResource

VALID_BARS = "bars_are_valid"
NO_MISSING_SESSIONS = "no_missing_sessions"
FRESH = "last_bar_is_last_completed_session"
Context = AssetExecutionContext | OpExecutionContext


class DailyBarsConfig(Config):
    check_splits: bool = Field(default=True, description="look for new splits and re-fetch affected history")
    allow_grouped_daily: bool = Field(default=True, description="let the planner use grouped daily calls")


@dataclass
class DailyRun:
    """What one load did: each symbol's own figures, the run's totals, its diagnostics and checks."""

    keys: list[str]
    skipped: list[str]
    partitions: dict[str, dict[str, Any]]
    totals: dict[str, Any]
    diagnostics: dict[str, Any]  # true of every partition alike (not totals)
    checks: list[AssetCheckResult]


def rejected_check(rejected: Sequence[InvalidBar]) -> AssetCheckResult:
    table = markdown_table(("ticker", "date", "reason"), [(r.ticker, r.date, r.reason) for r in rejected])
    return AssetCheckResult(check_name=VALID_BARS, passed=not rejected,
                            metadata={"rejected_bars": len(rejected), "rejected": table})


def _owed(context: Context, outcome: DailyOutcome, calls: int) -> dict[str, Any]:
    """Say what the run wanted and did not receive (the next load asks again); fail if nothing arrived."""
    if outcome.unpublished:
        context.log.warning("grouped daily answered empty (not yet published) for "
                            f"{listed([str(d) for d in outcome.unpublished], 10)}: left for the next run")
    if outcome.owed:
        failed = failed_symbols(outcome.owed)
        context.log.warning(f"{len(failed)} symbols not fully fetched, the others are committed; the next "
                            "load asks again for: " + listed([str(o) for o in outcome.owed], 20))
        if calls and not outcome.answered:
            raise Failure(f"no bars could be fetched: {outcome.owed[0].reason}",
                          metadata={"failed_symbols": MetadataValue.json(failed)})
    return {"not_fetched": MetadataValue.json(owed_json(outcome.owed)),
            "failed_symbols": MetadataValue.json(failed_symbols(outcome.owed)),
            "unpublished_sessions": MetadataValue.json([str(d) for d in outcome.unpublished]),
            "aggregates_calls_for_missing": outcome.per_symbol_calls,
            "details_calls_for_list_dates": outcome.listing_details_calls,
            "proven_before_list_date": outcome.proven_by_list_date}


def known_symbols(conn: sa.Connection, keys: Sequence[str]) -> list[str]:
    """The keys that have a `symbols` row (only those can have bars)."""
    return list(conn.execute(sa.text("SELECT symbol FROM symbols WHERE symbol = ANY(:k) ORDER BY 1"),
                             {"k": list(keys)}).scalars())


def _grouped_sessions(plan: CallPlan) -> Counter[str]:
    """Per symbol, the sessions filled from grouped-daily calls (each call is shared by every symbol)."""
    planned, sessions = plan.grouped_sessions, Counter[str]()  # planned is sorted
    for gap in plan.covered_by_grouped:
        sessions[gap.symbol] += bisect_right(planned, gap.last) - bisect_left(planned, gap.first)
    return sessions


def load_daily_bars(context: Context, partition_keys: Sequence[str], config: DailyBarsConfig,
                    database: DatabaseResource, polygon: PolygonResource) -> DailyRun:
    """Daily bars of these symbols: only missing sessions, fewest API calls, idempotent upserts."""
    engine = database.get_engine()
    end = last_completed_session()
    with polygon.get_client() as client, engine.connect() as conn:
        announce_sandbox(context, client)
        keys = known_symbols(conn, partition_keys)
        skipped = sorted(set(partition_keys) - set(keys))
        conn.rollback()
        splits = None
        if config.check_splits and keys:
            with conn.begin():  # new splits and the coverage they reset commit together
                splits = check_splits(conn, client, keys, end)

        def find_gaps() -> list[Gap]:
            gaps = missing_gaps(conn, keys, "day", end)
            conn.rollback()  # no transaction stays open while the bars download
            return gaps

        def fetch(gaps: list[Gap]) -> tuple[CallPlan, DailyOutcome]:
            plan = plan_daily(gaps, allow_grouped=config.allow_grouped_daily)
            context.log.info(
                f"ohlcv_daily: {len(partition_keys)} partitions, {len(gaps)} gaps to {end}, plan "
                f"{plan.strategy}: {len(plan.grouped_sessions)} grouped daily + {len(plan.aggregates)} "
                f"aggregates calls (aggregates only would be {len(gaps)})")
            return plan, load_daily(engine, client, plan, context.log.info)

        (plan, outcome), limit = fetch_within_plan(engine, client, "day", find_gaps, fetch,
                                                   context.log.warning)
        owed = _owed(context, outcome, plan.calls)
        with conn.begin():
            caps = derive_market_caps(conn, keys)
        holes = missing_sessions(conn, keys)
        stale = stale_symbols(conn, keys, end)
        stored = stored_by_symbol(conn, "day", keys)
    if skipped:
        context.log.warning(f"no symbols row, skipped: {listed(skipped)}")
    if outcome.rejected:
        context.log.warning(f"{len(outcome.rejected)} invalid bars not stored: " + listed(
            [f"{r.ticker} {r.date}: {r.reason}" for r in outcome.rejected], 10))
    ranges = gap_ranges((*plan.aggregates, *plan.covered_by_grouped))
    aggregates, grouped = Counter(g.symbol for g in plan.aggregates), _grouped_sessions(plan)
    rejected = Counter(r.ticker for r in outcome.rejected)
    new_splits = splits.new if splits else []
    refetched = set(splits.refetch if splits else [])
    partitions = {key: symbol_figures(
        outcome.counts.of(key), stored[key], ranges.get(key), aggregates_calls=aggregates[key],
        grouped_daily_sessions=grouped[key], rejected_bars=rejected[key],
        new_splits=MetadataValue.json([str(d) for s, d in new_splits if s == key]),
        refetched_after_split=key in refetched) for key in keys}
    totals = {
        "rows_inserted": outcome.counts.inserted, "rows_updated": outcome.counts.updated,
        "rows_unchanged": outcome.counts.unchanged, "symbols": len(keys),
        "symbols_written": len(outcome.symbols_written), "skipped_partitions": len(skipped),
        "plan": plan.strategy, "grouped_daily_calls_planned": len(plan.grouped_sessions),
        "aggregates_calls_planned": len(plan.aggregates),
        **api_calls(type(client.calls)(), client.calls),
        "date_range": f"{outcome.first} .. {outcome.last}" if outcome.first else "nothing missing",
        "new_splits": len(new_splits), "refetched_after_split": len(refetched),
        "rows_stored": sum(rows for rows, _ in stored.values()), "sandbox": client.sandbox}
    diagnostics = {
        **owed, "last_completed_session": end.isoformat(), **plan_limit_metadata(limit),
        "market_caps_derived": caps.count, "market_caps_derived_from": MetadataValue.json(caps.by_session),
        "sandbox": client.sandbox}
    checks = [
        rejected_check(outcome.rejected),
        AssetCheckResult(check_name=NO_MISSING_SESSIONS, passed=not holes.missing and not outcome.owed,
                         metadata={"symbols_checked": holes.checked, "missing_sessions": holes.total,
                                   "symbols_with_holes": MetadataValue.json(holes.missing),
                                   "missing": MetadataValue.json(holes.dates),
                                   "not_fetched": owed["not_fetched"]}),
        AssetCheckResult(check_name=FRESH, passed=not stale, severity=AssetCheckSeverity.WARN,
                         metadata={"last_completed_session": end.isoformat(), "stale": listed(stale)}),
    ]
    return DailyRun(keys, skipped, partitions, totals, diagnostics, checks)
