"""Running the market-data load job on a fresh instance and reading what its materialisations reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, Definitions, instance_for_test

from tickstock_pipelines.assets.bar_metadata import run_totals
from tickstock_pipelines.assets.market_data import LOAD_JOB, market_data_defs
from tickstock_pipelines.loading.request import Window
from tickstock_pipelines.orchestration.launch import partitions_of, plan_launch
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_sandbox import SandboxServer


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


@pytest.fixture
def resources(database_uri: str, redis_url: str, live_sandbox: SandboxServer) -> dict[str, Any]:
    return {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url),
            "polygon": PolygonResource(base_url=live_sandbox.base_url, backoff_seconds=0.01)}


def cli_window(symbols_config: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The `symbols` config and the run's tags as `tickstock load` splits them: `years`/`months`
    (`--years`/`--months`) go to the run as its `tickstock/history` tag, the rest is config."""
    config = dict(symbols_config or {})
    window = Window.of(config.pop("years", None), config.pop("months", None))
    return config or None, window.tags() if window else {}


def run_load(instance: DagsterInstance, resources: dict[str, Any], symbols_config: dict[str, Any] | None,
             keys: list[str], selection: list[str]) -> Any:
    """What `tickstock load` does (the same `plan_launch`): partitions first, in the selection's set, then
    one run of that set's job over `keys`. `years`/`months` in `symbols_config` are the CLI's flags."""
    symbols_config, tags = cli_window(symbols_config)
    config = {"ops": {"symbols": {"config": symbols_config}}} if symbols_config else None
    launch = plan_launch(keys, present=instance.get_dynamic_partitions(partitions_of(selection)),
                         selection=selection, command="load", run_config=config, tags=tags)
    launch.add_partitions(instance)
    return load_job_with(resources, launch.job).execute_in_process(
        instance=instance, run_config=launch.run_config,
        asset_selection=[AssetKey(s) for s in launch.selection],
        tags=launch.tags, raise_on_error=False)


def load_job_with(resources: dict[str, Any], job: str = LOAD_JOB) -> Any:
    defs = Definitions.merge(market_data_defs, Definitions(resources=resources))
    return defs.resolve_job_def(job)


def metadata(result: Any, key: str, partition: str | None = None) -> dict[str, Any]:
    """A materialization's metadata: the given partition's (bar assets carry their own symbol's figures),
    else the first one."""
    event = next(e for e in result.get_asset_materialization_events() if e.asset_key == AssetKey(key)
                 and partition in (None, e.partition))
    return {k: v.value for k, v in event.step_materialization_data.materialization.metadata.items()}


def totals(instance: DagsterInstance, result: Any, key: str) -> dict[str, Any]:
    """The run's totals for a bar asset, as it recorded them on the run."""
    return run_totals(instance.get_run_by_id(result.run_id).tags, key)


def run_view(instance: DagsterInstance, result: Any, key: str) -> dict[str, Any]:
    """What is the same for every partition of a bar asset's run, with the run's totals."""
    return {**metadata(result, key), **totals(instance, result, key)}


def checks(result: Any) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
