"""New symbols → their partitions and one batched backfill run, from a sensor that records who added them.

A symbol needs bars once `symbols` stored it with a coverage target (a load request asked for it). The
sensor adds the partitions it finds missing and, in the same tick, requests one run over exactly that
contiguous range (new partitions are appended together), with the backfill policy's single run in mind.
The cache families then update once after that run (their automation condition waits for it).
"""


import hashlib

import sqlalchemy as sa
from dagster import (
    AssetKey,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from tickstock_pipelines.assets.market_data import load_job
from tickstock_pipelines.assets.partitions import SYMBOL_PARTITIONS_NAME, symbol_partitions
from tickstock_pipelines.resources.database import DatabaseResource

# dagster/priority of the backfill: the most urgent request that asked for any of the new symbols
_PRIORITY = sa.text(
    "SELECT coalesce(max(CASE priority WHEN 'high' THEN 1 WHEN 'low' THEN -1 ELSE 0 END), 0) "
    "FROM load_requests WHERE symbols && CAST(:symbols AS text[])")
_WANTED = sa.text(
    "SELECT c.symbol, bool_or(c.timespan = 'minute') AS minute FROM coverage_targets c "
    "JOIN symbols s ON s.symbol = c.symbol AND s.active GROUP BY c.symbol ORDER BY c.symbol")


@sensor(
    job=load_job,
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a `symbols` partition for every loaded symbol that has none and backfills their "
                "history in one run (ohlcv_daily, ohlcv_minute where asked, etf_metadata).",
)
def new_symbols_sensor(context: SensorEvaluationContext,
                       database: DatabaseResource) -> SensorResult | SkipReason:
    with database.get_engine().connect() as conn:
        wanted = conn.execute(_WANTED).all()
    present = set(context.instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME))
    new = [(symbol, minute) for symbol, minute in wanted if symbol not in present]
    if not new:
        return SkipReason(f"every one of the {len(wanted)} loaded symbols has its partition")
    keys = [symbol for symbol, _ in new]
    with database.get_engine().connect() as conn:
        priority = conn.execute(_PRIORITY, {"symbols": keys}).scalar_one()
    selection = ["ohlcv_daily", "etf_metadata"] + (["ohlcv_minute"] if any(m for _, m in new) else [])
    run_key = "new-symbols-" + hashlib.sha256(",".join(keys).encode()).hexdigest()[:16]
    context.log.info(f"{len(keys)} new symbols: {', '.join(keys[:20])}{' …' if len(keys) > 20 else ''}")
    return SensorResult(
        dynamic_partitions_requests=[symbol_partitions.build_add_request(keys)],
        run_requests=[RunRequest(
            run_key=run_key,
            asset_selection=[AssetKey(name) for name in selection],
            tags={"dagster/asset_partition_range_start": keys[0],
                  "dagster/asset_partition_range_end": keys[-1],
                  "dagster/priority": str(priority), "tickstock/command": "new-symbols backfill",
                  "tickstock/new_symbols": str(len(keys))},
        )],
    )
