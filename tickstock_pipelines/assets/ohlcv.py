"""`ohlcv_daily` and `ohlcv_minute`: bars per symbol partition, a backfill range of any size in one run.

Only the sessions missing from the database are fetched, with the fewest calls (per-ticker aggregates,
grouped daily, or both). Bars end at the last completed NYSE session; day bars carry their New York
session date. Invalid bars are never stored: they are reported by ticker and date and fail a check.
"""


import warnings
from collections import Counter
from typing import Any

import sqlalchemy as sa
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    BackfillPolicy,
    BetaWarning,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from tickstock_pipelines.assets.bar_metadata import (
    add_partition_metadata,
    gap_ranges,
    record_run_totals,
    stored_by_symbol,
    symbol_figures,
)
from tickstock_pipelines.assets.daily_bars import (
    FRESH,
    NO_MISSING_SESSIONS,
    VALID_BARS,
    DailyBarsConfig,
    load_daily_bars,
    rejected_check,
)
from tickstock_pipelines.assets.metadata import announce_sandbox, api_calls, listed
from tickstock_pipelines.assets.partitions import minute_partitions, symbol_partitions
from tickstock_pipelines.loading.completeness import failed_symbols, owed_json
from tickstock_pipelines.loading.coverage import Gap, missing_gaps
from tickstock_pipelines.loading.minute import load_minute
from tickstock_pipelines.loading.plan_limits import fetch_within_plan, plan_limit_metadata
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource

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
    """Daily bars of the selected symbols: only missing sessions, fewest API calls, idempotent upserts.

    A backfill makes one run per contiguous range of the selected partitions (partitions are in the
    order symbols were added). To load scattered symbols in one run, launch the `backfill_symbols` job.
    """
    run = load_daily_bars(context, context.partition_keys, config, database, polygon)
    add_partition_metadata(context, run.partitions)
    add_partition_metadata(context, {key: {"skipped": "no symbols row"} for key in run.skipped})
    record_run_totals(context, "ohlcv_daily", run.totals)
    # the diagnostics are true of every partition alike; each partition's own figures were added above,
    # the run's totals are on the run
    return MaterializeResult(metadata=run.diagnostics, check_results=run.checks)


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
        check_results=[rejected_check(outcome.rejected)],
    )
