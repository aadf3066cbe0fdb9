"""The code location as operators see it: definitions pinned, schedules evaluated, automation evaluated
with Dagster's own utilities on a real instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    RunRequest,
    SkipReason,
    build_schedule_context,
    evaluate_automation_conditions,
    instance_for_test,
)

from tickstock_pipelines.assets.partitions import MINUTE_PARTITIONS_NAME, SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.definitions import defs
from tickstock_pipelines.notifications import NOTIFIED_BY_CACHE, NOTIFIED_BY_TAG
from tickstock_pipelines.orchestration.automation import cache_automation_sensor
from tickstock_pipelines.orchestration.schedules import (
    monthly_full_rebuild,
    quarterly_theme_review,
    weekly_minute_refresh,
    weekly_refresh,
)

FAMILIES = ["market_cap", "sector_leaders", "market_leaders", "themes", "industry", "etf_universes",
            "complete", "stats", "combo"]
MARKET_DATA = ["symbols", "ohlcv_daily", "ohlcv_minute", "etf_metadata"]


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as instance:
        yield instance


def test_definitions_pin_assets_groups_jobs_schedules_and_sensors() -> None:
    graph = defs.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {k: groups[k] for k in MARKET_DATA} == dict.fromkeys(MARKET_DATA, "market_data")
    assert {k: groups[k] for k in FAMILIES} == dict.fromkeys(FAMILIES, "cache_entries")
    assert graph.get(AssetKey("ohlcv_daily")).parent_keys == {AssetKey("symbols")}
    assert graph.get(AssetKey("etf_metadata")).parent_keys == {AssetKey("symbols"), AssetKey("ohlcv_daily")}
    assert all(graph.get(AssetKey(f)).parent_keys == {AssetKey("etf_metadata")} for f in FAMILIES)
    assert graph.get(AssetKey("ohlcv_daily")).backfill_policy.max_partitions_per_run is None  # single run
    jobs = {job.name for job in defs.jobs or []}
    assert {"load_job", "minute_load_job", "cache_rebuild_job", "weekly_refresh_job",
            "weekly_minute_refresh_job", "monthly_full_rebuild_job", "theme_review_job"} <= jobs
    partitions = {k: graph.get(AssetKey(k)).partitions_def.name for k in ("ohlcv_daily", "ohlcv_minute")}
    assert partitions == {"ohlcv_daily": SYMBOL_PARTITIONS_NAME, "ohlcv_minute": MINUTE_PARTITIONS_NAME}
    schedules = {s.name: (s.cron_schedule, s.execution_timezone) for s in defs.schedules or []}
    assert schedules == {"weekly_refresh": ("30 17 * * 5", "America/New_York"),
                         "weekly_minute_refresh": ("0 18 * * 5", "America/New_York"),
                         "monthly_full_rebuild": ("0 6 1 * *", "America/New_York"),
                         "quarterly_theme_review": ("0 8 1 1,4,7,10 *", "America/New_York")}
    sensors = {s.name for s in defs.sensors or []}
    assert sensors == {"new_symbols_sensor", "cache_after_market_data", "admin_notify_on_success",
                       "admin_notify_on_failure", "deliver_missed_notifications"}
    assert set(defs.resources or {}) >= {"database", "polygon", "redis"}


def test_weekly_refresh_covers_every_symbol_partition_or_skips_when_none(instance: DagsterInstance) -> None:
    with build_schedule_context(instance=instance) as context:
        assert isinstance(weekly_refresh(context), SkipReason)
    instance.add_dynamic_partitions(SYMBOL_PARTITIONS_NAME, ["AAPL", "MSFT", "KO"])
    with build_schedule_context(instance=instance) as context:
        request = weekly_refresh(context)
    assert isinstance(request, RunRequest)
    assert (request.tags["dagster/asset_partition_range_start"],
            request.tags["dagster/asset_partition_range_end"]) == ("AAPL", "KO")
    config: dict[str, Any] = request.run_config["ops"]
    assert config["symbols"]["config"] == {"refresh_tracked_universes": True}
    assert config["cache_entries"]["config"] == {"mode": "replace"}
    with build_schedule_context(instance=instance) as context:  # minute bars: their own set and job
        assert isinstance(weekly_minute_refresh(context), SkipReason)
    instance.add_dynamic_partitions(MINUTE_PARTITIONS_NAME, ["KO"])
    with build_schedule_context(instance=instance) as context:
        minute = weekly_minute_refresh(context)
    assert isinstance(minute, RunRequest)
    assert (minute.tags["dagster/asset_partition_range_start"],
            minute.tags["dagster/asset_partition_range_end"]) == ("KO", "KO")


def test_monthly_rebuild_refreshes_every_detail_and_replaces_and_the_review_is_quarterly(
        instance: DagsterInstance) -> None:
    with build_schedule_context(instance=instance) as context:
        monthly = monthly_full_rebuild(context)
        review = quarterly_theme_review(context)
    assert monthly.run_config["ops"]["symbols"]["config"] == {
        "max_details_age_days": 0, "check_delistings": True, "details_batch_minutes": 45}
    assert monthly.run_config["ops"]["cache_entries"]["config"] == {"mode": "replace"}
    assert isinstance(review, RunRequest)


def test_cache_families_update_once_after_market_data_not_per_symbol(instance: DagsterInstance) -> None:
    selection = defs.resolve_asset_graph()
    cache = [AssetKey(f) for f in FAMILIES]
    first = evaluate_automation_conditions(defs=defs, instance=instance)
    assert all(first.get_num_requested(k) == 0 for k in cache)  # etf_metadata missing: nothing yet

    instance.add_dynamic_partitions(SYMBOL_PARTITIONS_NAME, [f"S{i}" for i in range(50)])
    for i in range(50):  # a 50-symbol backfill, then etf_metadata once
        instance.report_runless_asset_event(AssetMaterialization("ohlcv_daily", partition=f"S{i}"))
    instance.report_runless_asset_event(AssetMaterialization("etf_metadata"))
    after_load = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert {k.to_user_string() for k in cache if after_load.get_num_requested(k) == 1} == set(FAMILIES)
    assert after_load.total_requested == len(FAMILIES)  # nothing upstream is requested by automation

    for key in cache:  # the requested rebuild ran
        instance.report_runless_asset_event(AssetMaterialization(key))
    settled = evaluate_automation_conditions(defs=defs, instance=instance, cursor=after_load.cursor)
    assert settled.total_requested == 0
    # The sensor that does it targets exactly the families, and the asset announces its runs.
    automation = cache_automation_sensor
    assert automation.asset_selection.resolve(selection) == set(cache)
    assert automation.run_tags == {NOTIFIED_BY_TAG: NOTIFIED_BY_CACHE}


def test_dagster_validates_the_workspace_code_location() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All code locations passed validation" in result.stderr + result.stdout
