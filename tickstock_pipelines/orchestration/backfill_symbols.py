"""`backfill_symbols`: daily bars for any list of loaded symbols in one run, whatever their partitions' order.

Dagster 1.13 runs a partition set only as one key or one contiguous range (the run's
`dagster/asset_partition_range_start`/`_end` tags), so a UI backfill of AAPL, MSFT and NVDA, three
scattered `symbols` partitions, becomes three runs even with `BackfillPolicy.single_run()`. This job takes
the symbols as run config instead, loads them exactly as `ohlcv_daily` does, and records one
`ohlcv_daily` materialization per symbol partition with that symbol's own figures (the run's totals go on
the run), so the asset's partitions, checks and automation see it as any other materialization.
"""

from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetKey,
    AssetMaterialization,
    Failure,
    OpExecutionContext,
    job,
    op,
)
from pydantic import Field

from tickstock_pipelines.assets.bar_metadata import record_run_totals
from tickstock_pipelines.assets.daily_bars import DailyBarsConfig, load_daily_bars
from tickstock_pipelines.assets.metadata import listed
from tickstock_pipelines.assets.partitions import SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.instance import POLYGON_POOL
from tickstock_pipelines.loading.request import requested_symbols
from tickstock_pipelines.loading.requests import LoadInputError
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource

BACKFILL_SYMBOLS = "backfill_symbols"
STEP = "backfill_daily_bars"  # the Launchpad's ops.<STEP>.config
DAILY = AssetKey("ohlcv_daily")


class BackfillSymbolsConfig(DailyBarsConfig):
    symbols: Any = Field(description=(
        "the loaded symbols to fetch missing daily bars for, as a comma-separated string "
        "(`AAPL,MSFT,NVDA`) or a list (`[AAPL, MSFT, NVDA]`); in any order, adjacent partitions or not"))


def wanted_partitions(raw: Any, present: list[str]) -> list[str]:
    """The symbols asked for, each with its `ohlcv_daily` partition; anything else refused in one line."""
    try:
        symbols = requested_symbols(raw)
    except LoadInputError as exc:
        raise Failure(str(exc)) from None
    known = set(present)
    missing = [s for s in symbols if s not in known]
    if missing:
        raise Failure(f"not loaded, so no ohlcv_daily partition: {listed(missing, 10)} (add them first: "
                      f"`tickstock load --symbols {','.join(missing[:10])}` or materialize `symbols`)")
    return list(symbols)


@op(name=STEP, pool=POLYGON_POOL, description=(
    "Missing daily bars of the symbols in run config, in this one run, recorded on their `ohlcv_daily` "
    "partitions."))
def backfill_symbols_op(context: OpExecutionContext, config: BackfillSymbolsConfig,
                        database: DatabaseResource, polygon: PolygonResource) -> None:
    keys = wanted_partitions(config.symbols, context.instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME))
    context.log.info(f"backfill_symbols: {len(keys)} symbols in one run: {listed(keys, 20)}")
    run = load_daily_bars(context, keys, config, database, polygon)
    for key in run.keys:
        context.log_event(AssetMaterialization(asset_key=DAILY, partition=key,
                                               metadata={**run.diagnostics, **run.partitions[key]}))
    for check in run.checks:
        context.log_event(AssetCheckEvaluation(
            asset_key=DAILY, check_name=check.check_name or "", passed=check.passed,
            metadata=check.metadata, severity=check.severity))
    record_run_totals(context, "ohlcv_daily", run.totals)


@job(name=BACKFILL_SYMBOLS, tags={"tickstock/command": BACKFILL_SYMBOLS}, description=(
    "Daily bars for any set of loaded symbols in ONE run (a UI backfill of scattered `ohlcv_daily` "
    "partitions makes one run per contiguous range). Launchpad: `ops: {backfill_daily_bars: {config: "
    "{symbols: \"AAPL,MSFT,NVDA\"}}}`. Each symbol's partition records its own figures."))
def backfill_symbols() -> None:
    backfill_symbols_op()
