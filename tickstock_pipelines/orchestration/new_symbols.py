"""New symbols → their partitions and one batched backfill run, from a sensor that records who added them.

A symbol needs bars once `symbols` stored it with a coverage target (a load request asked for it). The
sensor adds the partitions it finds missing and, in the same tick, requests one run over exactly that
contiguous range (new partitions are appended together), with the backfill policy's single run in mind.
The cache families then update once after that run (their automation condition waits for it).
"""


import sqlalchemy as sa
from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from tickstock_pipelines.assets.market_data import load_job
from tickstock_pipelines.assets.partitions import SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.orchestration.launch import plan_launch, run_key_of
from tickstock_pipelines.resources.database import DatabaseResource

# dagster/priority of the backfill: the most urgent request that asked for any of the new symbols
_PRIORITY = sa.text(
    "SELECT coalesce(max(CASE priority WHEN 'high' THEN 1 WHEN 'low' THEN -1 ELSE 0 END), 0) "
    "FROM load_requests WHERE symbols && CAST(:symbols AS text[])")
_PRIORITY_NAME = {1: "high", 0: "normal", -1: "low"}
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
    present = context.instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME)
    known = set(present)
    new = [(symbol, minute) for symbol, minute in wanted if symbol not in known]
    if not new:
        return SkipReason(f"every one of the {len(wanted)} loaded symbols has its partition")
    keys = [symbol for symbol, _ in new]
    with database.get_engine().connect() as conn:
        priority = conn.execute(_PRIORITY, {"symbols": keys}).scalar_one()
    selection = ["ohlcv_daily", "etf_metadata"] + (["ohlcv_minute"] if any(m for _, m in new) else [])
    context.log.info(f"{len(keys)} new symbols: {', '.join(keys[:20])}{' …' if len(keys) > 20 else ''}")
    launch = plan_launch(keys, present=present, selection=selection, command="new-symbols backfill",
                         priority=_PRIORITY_NAME[priority], run_key=run_key_of("new-symbols", keys),
                         tags={"tickstock/new_symbols": str(len(keys))})
    return SensorResult(dynamic_partitions_requests=launch.partition_requests(),
                        run_requests=[launch.run_request()])
