"""New symbols → their partitions and one batched backfill run, from a sensor that records who added them.

A symbol needs bars once `symbols` stored it with a coverage target (a load request asked for it). The
sensor adds the partitions it finds missing and, in the same tick, requests one run over exactly that
contiguous range (new partitions are appended together), with the backfill policy's single run in mind.
Each partition set has its own run: day bars and ETF metadata over `symbols` for symbols with a day
target, minute bars over `minute_symbols` for those with a minute target (a job runs over one set).
The cache families then update once after the day run (their automation condition waits for it).
"""


import sqlalchemy as sa
from dagster import (
    DefaultSensorStatus,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from tickstock_pipelines.assets.market_data import load_job, minute_load_job
from tickstock_pipelines.assets.partitions import PARTITIONS_OF_TIMESPAN
from tickstock_pipelines.orchestration.launch import Launch, plan_launch, run_key_of
from tickstock_pipelines.resources.database import DatabaseResource

# dagster/priority of the backfill: the most urgent request that asked for any of the new symbols
_PRIORITY = sa.text(
    "SELECT coalesce(max(CASE priority WHEN 'high' THEN 1 WHEN 'low' THEN -1 ELSE 0 END), 0) "
    "FROM load_requests WHERE symbols && CAST(:symbols AS text[])")
_PRIORITY_NAME = {1: "high", 0: "normal", -1: "low"}
_WANTED = sa.text(
    "SELECT c.symbol FROM coverage_targets c JOIN symbols s ON s.symbol = c.symbol AND s.active "
    "WHERE c.timespan = :timespan ORDER BY c.symbol")
# per timespan: what the backfill runs and the run key's prefix
_BACKFILL = {"day": (("ohlcv_daily", "etf_metadata"), "new-symbols"),
             "minute": (("ohlcv_minute",), "new-minute-symbols")}


@sensor(
    jobs=[load_job, minute_load_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds a `symbols` partition for every symbol loaded with day bars that has none, and a "
                "`minute_symbols` partition for every symbol a request asked minute history for, and "
                "backfills each set's new symbols in one run (ohlcv_daily and etf_metadata; ohlcv_minute).",
)
def new_symbols_sensor(context: SensorEvaluationContext,
                       database: DatabaseResource) -> SensorResult | SkipReason:
    launches = [launch for timespan in _BACKFILL if (launch := _backfill(context, database, timespan))]
    if not launches:
        return SkipReason("every loaded symbol has its partitions")
    return SensorResult(dynamic_partitions_requests=[r for x in launches for r in x.partition_requests()],
                        run_requests=[x.run_request() for x in launches])


def _backfill(context: SensorEvaluationContext, database: DatabaseResource, timespan: str) -> Launch | None:
    """One run over the symbols with a `timespan` target that have no partition in its set yet."""
    name = PARTITIONS_OF_TIMESPAN[timespan]
    with database.get_engine().connect() as conn:
        wanted = conn.execute(_WANTED, {"timespan": timespan}).scalars().all()
    present = context.instance.get_dynamic_partitions(name)
    known = set(present)
    keys = [symbol for symbol in wanted if symbol not in known]
    if not keys:
        return None
    with database.get_engine().connect() as conn:
        priority = conn.execute(_PRIORITY, {"symbols": keys}).scalar_one()
    selection, prefix = _BACKFILL[timespan]
    context.log.info(f"{len(keys)} new symbols in {name}: {', '.join(keys[:20])}"
                     f"{' …' if len(keys) > 20 else ''}")
    return plan_launch(keys, present=present, selection=selection, command="new-symbols backfill",
                       priority=_PRIORITY_NAME[priority], run_key=run_key_of(prefix, keys),
                       partitions_name=name, tags={"tickstock/new_symbols": str(len(keys))})
