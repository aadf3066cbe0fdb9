"""The one way a load becomes a run: resolve the request, add its partitions, build the tags, launch.

`tickstock load` calls `launch_load`; the new-symbols sensor and the weekly schedule build the same
`Launch` with `plan_launch` and return its partition and run requests; the tests do what the CLI does.
Partition-range tags are built here and nowhere else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import (
    AddDynamicPartitionsRequest,
    AssetKey,
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    RunsFilter,
)

from tickstock_pipelines.assets.market_data import JOB_OF_PARTITIONS
from tickstock_pipelines.assets.partitions import MINUTE_PARTITIONS_NAME, SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.loading.request import LoadRequest, Resolved, Window, requested_symbols
from tickstock_pipelines.loading.requests import LoadInputError

if TYPE_CHECKING:
    from tickstock_pipelines.instance import RunOutcome

PRIORITY_TAG = {"low": "-1", "normal": "0", "high": "1"}  # dagster/priority: higher runs first
RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Launch:
    """A run to start: the partitions it needs first, its job, assets, tags and run config."""

    partitions_name: str
    added: tuple[str, ...]
    selection: tuple[str, ...]
    tags: dict[str, str]
    run_config: dict[str, Any] = field(default_factory=dict)
    run_key: str | None = None

    @property
    def job(self) -> str:
        """The job over this launch's partition set (a job runs over one set)."""
        return JOB_OF_PARTITIONS[self.partitions_name]

    def partition_requests(self) -> list[AddDynamicPartitionsRequest]:
        return [AddDynamicPartitionsRequest(self.partitions_name, list(self.added))] if self.added else []

    def add_partitions(self, instance: DagsterInstance) -> None:
        if self.added:
            instance.add_dynamic_partitions(self.partitions_name, list(self.added))

    def run_request(self) -> RunRequest:
        return RunRequest(run_key=self.run_key, run_config=self.run_config, job_name=self.job,
                          asset_selection=[AssetKey(name) for name in self.selection], tags=self.tags)


def partitions_of(selection: Sequence[str]) -> str:
    """The partition set a run over `selection` spans: minute bars have theirs, everything else `symbols`."""
    return MINUTE_PARTITIONS_NAME if "ohlcv_minute" in selection else SYMBOL_PARTITIONS_NAME


def plan_launch(keys: Sequence[str], *, present: Sequence[str], selection: Sequence[str], command: str,
                priority: str = "normal", run_config: dict[str, Any] | None = None,
                tags: dict[str, str] | None = None, run_key: str | None = None,
                partitions_name: str | None = None) -> Launch:
    """One run over `keys`: the partitions missing from `present` (the set's partitions) are added
    (appended, in the order given), and the run's range spans the keys in the partition set's order. The
    set is `partitions_of(selection)` unless named."""
    known = set(present)
    added = tuple(dict.fromkeys(k for k in keys if k not in known))
    order = {k: i for i, k in enumerate([*present, *added])}
    span = sorted(set(keys), key=order.__getitem__)
    return Launch(
        partitions_name=partitions_name or partitions_of(selection), added=added, selection=tuple(selection),
        run_config=run_config or {}, run_key=run_key,
        tags={RANGE_START: span[0], RANGE_END: span[-1], "dagster/priority": PRIORITY_TAG.get(priority, "0"),
              "tickstock/command": command, "tickstock/partitions_added": str(len(added)), **(tags or {})})


def run_key_of(prefix: str, keys: Sequence[str]) -> str:
    return f"{prefix}-" + hashlib.sha256(",".join(keys).encode()).hexdigest()[:16]


def request_config(request: LoadRequest, resolved: Resolved | None = None) -> dict[str, Any]:
    """The `symbols` asset's run config for this request; with `resolved`, the run loads exactly these
    tickers (it does not look the universe, the list or the CSV up again)."""
    config = {k: v for k, v in request.model_dump(exclude_none=True).items()
              if v != LoadRequest.model_fields[k].default}
    if "history" in config:
        config["history"] = request.history.name if request.history else None
    if resolved is not None:
        config["resolved_tickers"] = list(resolved.symbols)
    return config


def load_launch(request: LoadRequest, resolved: Resolved, instance: DagsterInstance,
                tags: dict[str, str] | None = None, ops: dict[str, dict[str, Any]] | None = None,
                window: Window | None = None) -> Launch:
    """`tickstock load`'s run: symbols, their bars and (for day bars) ETF metadata, in one run. `ops`:
    more config per asset (the user's sector map and ETF rules). `window`: --years/--months, as the run's
    `tickstock/history` tag (the config's `history` is an enum). A minute load adds its symbols to the
    `minute_symbols` set only, a day load to `symbols` only."""
    minute = resolved.timespan == "minute"
    selection = ["symbols", "ohlcv_minute"] if minute else ["symbols", "ohlcv_daily", "etf_metadata"]
    return plan_launch(
        resolved.symbols, present=instance.get_dynamic_partitions(partitions_of(selection)),
        selection=selection, command="load", priority=resolved.priority,
        run_config={"ops": _ops(request_config(request, resolved), selection, ops or {})},
        tags={**(window.tags() if window else {}), **(tags or {})})


def _ops(symbols: dict[str, Any], selection: Sequence[str], ops: dict[str, dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {"symbols": {"config": {**symbols, **ops.get("symbols", {})}}}
    for name, config in ops.items():
        if name != "symbols" and name in selection:
            merged[name] = {"config": config}
    return merged


@dataclass
class Launched:
    resolved: Resolved
    launch: Launch
    outcome: RunOutcome


def launch_load(request: LoadRequest, resolved: Resolved, *, instance: DagsterInstance | None = None,
                tags: dict[str, str] | None = None, ops: dict[str, dict[str, Any]] | None = None,
                on_abort: Callable[[DagsterInstance, BaseException], None] | None = None,
                window: Window | None = None) -> Launched:
    """Add the partitions, launch the run on the instance and wait for it (what `tickstock load` does).
    Partitions added for tickers that did not load are removed again."""
    from tickstock_pipelines.instance import get_instance, run_job

    instance = instance or get_instance()
    launch = load_launch(request, resolved, instance, tags, ops, window)
    launch.add_partitions(instance)
    try:
        outcome = run_job(launch.job, run_config=launch.run_config, asset_selection=list(launch.selection),
                          tags=launch.tags, instance=instance)
    except BaseException as exc:  # interrupted or broken mid-run: the caller says so, then it goes on
        if on_abort is not None:
            on_abort(instance, exc)
        raise
    meta = outcome.asset_metadata.get("symbols", {})
    dropped = set(meta.get("unknown_tickers") or []) | set(meta.get("failed_reasons") or {})
    for ticker in launch.added:  # partitions this launch added for tickers that did not load
        if ticker in dropped or not outcome.success:
            instance.delete_dynamic_partition(launch.partitions_name, ticker)
    return Launched(resolved, launch, outcome)


IN_FLIGHT = (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
             DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING)


def keys_in_flight(instance: DagsterInstance, asset: str, present: Sequence[str]) -> set[str]:
    """The partitions of `asset` that a queued or running run will materialize, whoever launched it
    (`tickstock load`, a sensor, a schedule, a backfill). A CLI run whose process is gone is not running."""
    from tickstock_pipelines.instance import process_gone

    order = {key: i for i, key in enumerate(present)}
    keys: set[str] = set()
    for run in instance.get_runs(RunsFilter(statuses=list(IN_FLIGHT))):
        if run.asset_selection is not None and AssetKey(asset) not in run.asset_selection:
            continue
        if process_gone(run.tags):
            continue
        tags = run.tags
        if run.job_name == "backfill_symbols":  # an op job: its symbols are in its run config
            keys.update(k for k in _backfill_symbols(run.run_config) if k in order and asset == "ohlcv_daily")
        elif tags.get("dagster/partition") in order:
            keys.add(tags["dagster/partition"])
        elif tags.get(RANGE_START) in order and tags.get(RANGE_END) in order:
            keys.update(present[order[tags[RANGE_START]]:order[tags[RANGE_END]] + 1])
    return keys


def _backfill_symbols(run_config: Mapping[str, Any]) -> tuple[str, ...]:
    """The symbols a `backfill_symbols` run loads (none when its config is refused: it fails at its start)."""
    try:
        return requested_symbols(run_config.get("ops", {}).get("backfill_daily_bars", {}).get("config", {})
                                 .get("symbols"))
    except LoadInputError:
        return ()
