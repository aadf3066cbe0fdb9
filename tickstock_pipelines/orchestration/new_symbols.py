"""History a request wanted and no run fetched → one batched run per partition set, from the sensor
that owns it.

A request (the `symbols` asset from the Launchpad, a schedule, `tickstock load`) records each symbol's
coverage target. This sensor is the one owner of "a request added or widened targets": every tick it
adds the partitions of new symbols and launches ONE run over every active symbol whose wanted window
(`loading/wanted.py`: target start, within the plan's horizon) starts before what is loaded, new
symbols included, with `plan_launch` (the backfill policy's single run). Each partition set has its
own run: day bars and ETF metadata over `symbols`, minute bars over `minute_symbols` (a job runs over
one set). The cache families then update once after the day run (their automation condition waits).

Not launched twice: the cursor remembers the start launched for each symbol and timespan, so the same
want is launched once whether its run is queued, running, done or failed (a wider want launches again;
the weekly refresh fills what a failed run left). A symbol that a queued or running run of any job
will load (`tickstock load` fetches in its own run) is left to that run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

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
from tickstock_pipelines.loading.wanted import Short, short_targets
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.orchestration.launch import Launch, keys_in_flight, plan_launch, run_key_of
from tickstock_pipelines.resources.database import DatabaseResource

# dagster/priority of a run: the most urgent request that asked for any of its symbols
_PRIORITY = sa.text(
    "SELECT coalesce(max(CASE priority WHEN 'high' THEN 1 WHEN 'low' THEN -1 ELSE 0 END), 0) "
    "FROM load_requests WHERE symbols && CAST(:symbols AS text[])")
_PRIORITY_NAME = {1: "high", 0: "normal", -1: "low"}
_WANTED = sa.text(
    "SELECT c.symbol FROM coverage_targets c JOIN symbols s ON s.symbol = c.symbol AND s.active "
    "WHERE c.timespan = :timespan ORDER BY c.symbol")
# per timespan: what the run materializes (its first asset is the bar asset) and the run key's prefix
_BACKFILL = {"day": (("ohlcv_daily", "etf_metadata"), "wanted-history"),
             "minute": (("ohlcv_minute",), "wanted-minute-history")}

Launched = dict[str, dict[str, str]]  # the cursor: timespan → symbol → first day launched for


def read_cursor(cursor: str | None) -> Launched:
    launched = json.loads(cursor) if cursor else {}
    return {t: dict(launched.get(t, {})) for t in _BACKFILL}


def _launched_before(launched: Launched, short: Short) -> bool:
    """This want, or a wider one, was launched already."""
    seen = launched[short.timespan].get(short.symbol)
    return seen is not None and date.fromisoformat(seen) <= short.start


def _next_cursor(short: Sequence[Short], launched: Launched, now: Sequence[Short]) -> str:
    """Launched starts of the wants still short (a want met is forgotten), plus those launched now."""
    still = {(s.timespan, s.symbol) for s in short}
    kept: Launched = {t: {k: v for k, v in launched[t].items() if (t, k) in still} for t in _BACKFILL}
    for s in now:
        kept[s.timespan][s.symbol] = s.start.isoformat()
    return json.dumps(kept, sort_keys=True, separators=(",", ":"))


@sensor(
    jobs=[load_job, minute_load_job],
    minimum_interval_seconds=30,
    default_status=DefaultSensorStatus.RUNNING,
    description="Fetches the history a request wanted and no run loaded, one run per partition set: "
                "new symbols (their `symbols` or `minute_symbols` partitions added) and loaded symbols "
                "whose history was widened (ohlcv_daily and etf_metadata; ohlcv_minute).",
)
def new_symbols_sensor(context: SensorEvaluationContext,
                       database: DatabaseResource) -> SensorResult | SkipReason:
    with database.get_engine().connect() as conn:
        short = short_targets(conn, last_completed_session())
    launched = read_cursor(context.cursor)
    launches, now = [], []
    for timespan in _BACKFILL:
        launch, started = _backfill(context, database, timespan, short, launched)
        now += started
        if launch is not None:
            launches.append(launch)
    cursor = _next_cursor(short, launched, now)
    if not launches:
        return SensorResult(skip_reason=SkipReason(
            f"every loaded symbol has its partitions; of {len(short)} symbols short of their wanted "
            "history none is left to launch (in flight or launched before)"), cursor=cursor)
    return SensorResult(dynamic_partitions_requests=[r for x in launches for r in x.partition_requests()],
                        run_requests=[x.run_request() for x in launches], cursor=cursor)


def _backfill(context: SensorEvaluationContext, database: DatabaseResource, timespan: str,
              short: Sequence[Short], launched: Launched) -> tuple[Launch | None, list[Short]]:
    """One run over the symbols with a `timespan` target that have no partition in its set yet and the
    loaded ones short of their wanted history; with the wants it launches."""
    name, (selection, prefix) = PARTITIONS_OF_TIMESPAN[timespan], _BACKFILL[timespan]
    with database.get_engine().connect() as conn:
        wanted = conn.execute(_WANTED, {"timespan": timespan}).scalars().all()
    present = context.instance.get_dynamic_partitions(name)
    known = set(present)
    new = [symbol for symbol in wanted if symbol not in known]
    mine = [s for s in short if s.timespan == timespan]
    busy = keys_in_flight(context.instance, selection[0], present)
    widen = [s for s in mine
             if s.symbol in known and s.symbol not in busy and not _launched_before(launched, s)]
    started = [s for s in mine if s.symbol not in known] + widen
    if not new and not widen:
        return None, started
    keys = list(dict.fromkeys(new + [s.symbol for s in widen]))
    with database.get_engine().connect() as conn:
        priority = conn.execute(_PRIORITY, {"symbols": keys}).scalar_one()
    context.log.info(f"{name}: {len(new)} new symbols, {len(widen)} with history widened: "
                     f"{', '.join(keys[:20])}{' …' if len(keys) > 20 else ''}")
    launch = plan_launch(
        keys, present=present, selection=selection, partitions_name=name, priority=_PRIORITY_NAME[priority],
        command="history backfill" if widen else "new-symbols backfill",
        run_key=run_key_of(prefix, sorted(keys) + [f"{s.symbol}:{s.start}" for s in started]),
        tags={"tickstock/new_symbols": str(len(new)), "tickstock/widened": str(len(widen))})
    return launch, started
