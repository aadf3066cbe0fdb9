"""`ohlcv_daily` and `ohlcv_minute`: bars per symbol partition, a backfill of any size in one run.

Only the sessions missing from the database are fetched, with the fewest calls (per-ticker aggregates,
grouped daily, or both). Bars end at the last completed NYSE session; day bars carry their New York
session date. Invalid bars are never stored: they are reported by ticker and date and fail a check.
"""


import warnings
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from tickstock_pipelines.assets.bar_metadata import (
    add_partition_metadata,
    gap_ranges,
    record_run_totals,
    stored_by_symbol,
    symbol_figures,
)
from tickstock_pipelines.assets.metadata import announce_sandbox, api_calls, listed, markdown_table
from tickstock_pipelines.assets.partitions import minute_partitions, symbol_partitions
from tickstock_pipelines.loading.completeness import failed_symbols, owed_json
from tickstock_pipelines.loading.coverage import Gap, missing_gaps
from tickstock_pipelines.loading.daily import DailyOutcome, load_daily
from tickstock_pipelines.loading.market_caps import derive_market_caps
from tickstock_pipelines.loading.minute import load_minute
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


class DailyBarsConfig(Config):
    check_splits: bool = Field(default=True, description="look for new splits and re-fetch affected history")
    allow_grouped_daily: bool = Field(default=True, description="let the planner use grouped daily calls")


def _rejected_table(rejected: Sequence[InvalidBar]) -> MetadataValue:
    return markdown_table(("ticker", "date", "reason"), [(r.ticker, r.date, r.reason) for r in rejected])


def _bars_check(rejected: Sequence[InvalidBar]) -> AssetCheckResult:
    return AssetCheckResult(check_name=VALID_BARS, passed=not rejected,
                            metadata={"rejected_bars": len(rejected), "rejected": _rejected_table(rejected)})


# Both bar assets: one partition per symbol (each its own set), a backfill of any size in one run, API steps
# in one pool.
BARS_ASSET: dict[str, Any] = {
    "deps": ["symbols"], "backfill_policy": BackfillPolicy.single_run(),
    "pool": "polygon", "group_name": "market_data", "kinds": {"polygon", "postgres"},
    "owners": ["team:market-data"],
}


def bars_asset(**kwargs: Any) -> Any:
    """`@asset` with BARS_ASSET. BackfillPolicy is beta in Dagster 1.13 and the design relies on single-run
    backfills: its warning is silenced for these two definitions only, not for the whole process."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=BetaWarning)
        return asset(**BARS_ASSET, **kwargs)


def _owed(context: AssetExecutionContext, outcome: DailyOutcome, calls: int) -> dict[str, Any]:
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
            "aggregates_calls_for_missing": outcome.per_symbol_calls}


def _known(conn: sa.Connection, keys: Sequence[str]) -> list[str]:
    return list(conn.execute(sa.text("SELECT symbol FROM symbols WHERE symbol = ANY(:k) ORDER BY 1"),
                             {"k": list(keys)}).scalars())


def _grouped_sessions(plan: CallPlan) -> Counter[str]:
    """Per symbol, the sessions filled from grouped-daily calls (each call is shared by every symbol)."""
    planned, sessions = plan.grouped_sessions, Counter[str]()  # planned is sorted
    for gap in plan.covered_by_grouped:
        sessions[gap.symbol] += bisect_right(planned, gap.last) - bisect_left(planned, gap.first)
    return sessions


@bars_asset(
    partitions_def=symbol_partitions,
    check_specs=[
        AssetCheckSpec(VALID_BARS, asset="ohlcv_daily", description="no bar failed validation "
                       "(high < low, open/close outside [low, high], negative volume, NaN)"),
        AssetCheckSpec(NO_MISSING_SESSIONS, asset="ohlcv_daily", description="every NYSE session between a "
                       "symbol's first stored bar and the end of its loaded window has a bar"),
        AssetCheckSpec(FRESH, asset="ohlcv_daily", description="the last bar of each active symbol is the "
                       "last completed session"),
    ],
)
def ohlcv_daily(context: AssetExecutionContext, config: DailyBarsConfig, database: DatabaseResource,
                polygon: PolygonResource) -> MaterializeResult:
    """Daily bars of the selected symbols: only missing sessions, fewest API calls, idempotent upserts."""
    engine = database.get_engine()
    end = last_completed_session()
    with polygon.get_client() as client, engine.connect() as conn:
        announce_sandbox(context, client)
        keys = _known(conn, context.partition_keys)
        skipped = sorted(set(context.partition_keys) - set(keys))
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
                f"ohlcv_daily: {len(context.partition_keys)} partitions, {len(gaps)} gaps to {end}, plan "
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
    add_partition_metadata(context, {key: symbol_figures(
        outcome.counts.of(key), stored[key], ranges.get(key), aggregates_calls=aggregates[key],
        grouped_daily_sessions=grouped[key], rejected_bars=rejected[key],
        new_splits=MetadataValue.json([str(d) for s, d in new_splits if s == key]),
        refetched_after_split=key in refetched) for key in keys})
    add_partition_metadata(context, {key: {"skipped": "no symbols row"} for key in skipped})
    record_run_totals(context, "ohlcv_daily", {
        "rows_inserted": outcome.counts.inserted, "rows_updated": outcome.counts.updated,
        "rows_unchanged": outcome.counts.unchanged, "symbols": len(keys),
        "symbols_written": len(outcome.symbols_written), "skipped_partitions": len(skipped),
        "plan": plan.strategy, "grouped_daily_calls_planned": len(plan.grouped_sessions),
        "aggregates_calls_planned": len(plan.aggregates),
        **api_calls(type(client.calls)(), client.calls),
        "date_range": f"{outcome.first} .. {outcome.last}" if outcome.first else "nothing missing",
        "new_splits": len(new_splits), "refetched_after_split": len(refetched),
        "rows_stored": sum(rows for rows, _ in stored.values()), "sandbox": client.sandbox})
    return MaterializeResult(
        # true of every partition alike (the run's diagnostics, not its totals); each partition's own
        # figures were added above, the run's totals are on the run
        metadata={
            **owed,
            "last_completed_session": end.isoformat(),
            **plan_limit_metadata(limit),
            "market_caps_derived": caps.count,
            "market_caps_derived_from": MetadataValue.json(caps.by_session),
            "sandbox": client.sandbox,
        },
        check_results=[
            _bars_check(outcome.rejected),
            AssetCheckResult(check_name=NO_MISSING_SESSIONS, passed=not holes.missing and not outcome.owed,
                             metadata={"symbols_checked": holes.checked, "missing_sessions": holes.total,
                                       "symbols_with_holes": MetadataValue.json(holes.missing),
                                       "missing": MetadataValue.json(holes.dates),
                                       "not_fetched": owed["not_fetched"]}),
            AssetCheckResult(check_name=FRESH, passed=not stale, severity=AssetCheckSeverity.WARN,
                             metadata={"last_completed_session": end.isoformat(), "stale": listed(stale)}),
        ],
    )


@bars_asset(
    partitions_def=minute_partitions,  # only symbols with minute history asked for: its fill figure means it
    check_specs=[AssetCheckSpec(VALID_BARS, asset="ohlcv_minute", description="no minute bar failed "
                                "validation")],
)
def ohlcv_minute(context: AssetExecutionContext, database: DatabaseResource,
                 polygon: PolygonResource) -> MaterializeResult:
    """Minute bars of the selected symbols that a request asked minute history for, streamed page by page."""
    engine = database.get_engine()
    end = last_completed_session()
    with polygon.get_client() as client, engine.connect() as conn:
        announce_sandbox(context, client)
        targeted = list(conn.execute(sa.text(
            "SELECT symbol FROM coverage_targets WHERE timespan = 'minute' AND symbol = ANY(:k) ORDER BY 1"),
            {"k": list(context.partition_keys)}).scalars())

        def find_gaps() -> list[Gap]:
            gaps = missing_gaps(conn, targeted, "minute", end)
            conn.rollback()
            return gaps

        def fetch(gaps: list[Gap]) -> tuple[list[Gap], Any]:
            context.log.info(f"ohlcv_minute: {len(targeted)} symbols with minute history wanted, "
                             f"{len(gaps)} gaps")
            return gaps, load_minute(engine, client, gaps, context.log.info)

        (gaps, outcome), limit = fetch_within_plan(engine, client, "minute", find_gaps, fetch,
                                                   context.log.warning)
        stored = stored_by_symbol(conn, "minute", targeted)
    if outcome.rejected:
        context.log.warning(f"{len(outcome.rejected)} invalid minute bars not stored")
    if outcome.owed:
        context.log.warning(f"{len(outcome.owed)} minute gaps not fetched, the others are committed; the "
                            "next load asks again for: " + listed([str(o) for o in outcome.owed], 20))
        if not outcome.answered:
            raise Failure(f"no minute bars could be fetched: {outcome.owed[0].reason}")
    ranges, rejected = gap_ranges(gaps), Counter(r.ticker for r in outcome.rejected)
    add_partition_metadata(context, {key: symbol_figures(
        outcome.counts.of(key), stored[key], ranges.get(key), aggregates_calls=outcome.pages_by_symbol[key],
        rejected_bars=rejected[key]) for key in targeted})
    add_partition_metadata(context, {key: {"skipped": "no minute history asked for"}
                                     for key in set(context.partition_keys) - set(targeted)})
    record_run_totals(context, "ohlcv_minute", {
        "rows_inserted": outcome.counts.inserted, "rows_updated": outcome.counts.updated,
        "rows_unchanged": outcome.counts.unchanged, "symbols": len(targeted),
        "symbols_written": len(outcome.symbols_written), "pages": outcome.pages,
        **api_calls(type(client.calls)(), client.calls),
        "date_range": (f"{min(g.first for g in gaps)} .. {max(g.last for g in gaps)}" if gaps
                       else "nothing missing"),
        "rows_stored": sum(rows for rows, _ in stored.values()), "sandbox": client.sandbox})
    return MaterializeResult(
        metadata={"last_completed_session": end.isoformat(), **plan_limit_metadata(limit),
                  "not_fetched": MetadataValue.json(owed_json(outcome.owed)),
                  "failed_symbols": MetadataValue.json(failed_symbols(outcome.owed)),
                  "sandbox": client.sandbox},
        check_results=[_bars_check(outcome.rejected)],
    )
