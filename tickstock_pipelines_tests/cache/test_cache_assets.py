"""The cache multi-asset through Dagster on real PostgreSQL and Redis: full and subset materializations,
metadata, checks on good and tampered data, run config; Redis notifications in
test_cache_assets_notifications.py."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import redis as redis_lib

from tickstock_pipelines.assets.cache import cache_defs, cache_entries, cache_rebuild_job
from tickstock_pipelines.assets.cache.checks import CACHE_CHECKS
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.cache_fixtures import (
    add_entry,
    cache_values,
    execute,
    raw_rows,
)
from tickstock_pipelines_tests.support.cache_runs import (
    FAMILIES,
    Subscriber,
    materialization_metadata,
    materialize_cache,
)


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {key: e.passed for key, e in _evaluations(result).items()}


def _error_text(result: dg.ExecuteInProcessResult) -> str:
    """The step failure with its causes: Dagster wraps our exception in DagsterExecutionStepExecutionError."""
    failure = next(e for e in result.all_events if e.is_step_failure)
    parts, error = [], failure.step_failure_data.error
    while error is not None:
        parts.append(error.message)
        error = error.cause or error.context
    return "\n".join(parts)


def _drop_stocks_without_cap(database_uri: str) -> None:
    """The sample has two active stocks with no market cap (uncategorisable by design): 10/12 < 90%."""
    execute(database_uri, "DELETE FROM symbols WHERE symbol IN ('NOCAP', 'ZERO')")



def test_definitions_pin_keys_groups_deps_and_job() -> None:
    specs = {spec.key.to_user_string(): spec for spec in cache_entries.specs}
    assert list(specs) == FAMILIES
    for spec in specs.values():
        assert spec.group_name == "cache_entries" and spec.kinds == {"postgres"}
        assert [d.asset_key for d in spec.deps] == [dg.AssetKey("etf_metadata")]
        assert spec.owners and spec.description
    assert cache_entries.can_subset
    assert cache_rebuild_job.name == "cache_rebuild_job"
    # The job needs the resources of the top-level definitions; constructing them touches nothing.
    defs = dg.Definitions.merge(cache_defs, dg.Definitions(
        resources={"database": DatabaseResource(), "redis": RedisResource()}))
    job = defs.resolve_job_def("cache_rebuild_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == set(FAMILIES)
    assert {c.check_key.name for c in CACHE_CHECKS} == {
        "coverage_meets_goal", "buckets_match_symbols", "every_sector_has_leaders",
        "themes_hold_only_loaded_tickers", "complete_lists_match_symbols", "combo_matches_symbols"}


def test_full_materialization_writes_every_family_with_metadata_and_passing_checks(
        resources: dict, instance, database_uri: str) -> None:
    _drop_stocks_without_cap(database_uri)
    result = materialize_cache(resources, instance)
    assert result.success
    metadata = materialization_metadata(result)
    assert list(metadata) == FAMILIES
    market_cap = metadata["market_cap"]
    assert market_cap["dagster/row_count"] == market_cap["entries_written"] == 5
    assert market_cap["rows_inserted"] == 5 and market_cap["universes_changed"] == 5
    assert market_cap["mode"] == "replace" and market_cap["environment"] == "DEFAULT"
    assert market_cap["bucket_sizes"] == {"mega_cap": 3, "large_cap": 2, "mid_cap": 3, "small_cap": 1,
                                          "micro_cap": 1}
    assert "| mega_cap | 3 |" in market_cap["bucket_chart"] and "█" in market_cap["bucket_chart"]
    assert "| stock_universe | market_cap | mega_cap | 3 | AAPL, MSFT, NVDA |" in market_cap["preview"]
    assert "stock_universe\\|market_cap\\|mega_cap | created | 3 | 0" in market_cap["universe_changes"]
    assert all(m["redis_notified"] is True and m["missed_notifications"] == [] for m in metadata.values())
    assert metadata["stats"]["overview"]["total_stocks"] == 10
    # Metadata counts are the rows actually committed, family by family.
    rows = execute(database_uri, "SELECT name, count(*) AS n FROM cache_entries WHERE type <> 'app_settings' "
                                 "GROUP BY name")
    committed = {r.name: r.n for r in rows}
    assert committed["market_cap"] == 5 and sum(committed.values()) == sum(
        m["entries_written"] for m in metadata.values())
    checks = _checks(result)
    assert len(checks) == 15 and all(checks.values()), checks
    assert checks[("combo", "combo_matches_symbols")]
    assert {(f, "protected_rows_unchanged") for f in FAMILIES} <= set(checks)
    assert cache_values(database_uri)[("app_settings", "ui", "theme")] == {"dark": True}


def test_coverage_below_goal_warns_without_failing_the_run(resources: dict, instance) -> None:
    result = materialize_cache(resources, instance)  # NOCAP, ZERO and MYST (Unknown) in no category: 15 of 18
    assert result.success
    coverage = _evaluations(result)[("stats", "coverage_meets_goal")]
    assert coverage.passed is False and coverage.severity == dg.AssetCheckSeverity.WARN
    assert coverage.description == (
        "83.3% of 18 active stocks and ETFs in a category (goal 90%): stocks 75.0% (sector leaders, themes, "
        "industries), ETFs 100.0% (ETF categories); market-cap buckets 83.3% by construction")
    assert coverage.metadata["uncovered_sample"].value == ["MYST", "NOCAP", "ZERO"]
    assert coverage.metadata["by_kind"].value["sector_leaders"] == {"members": 9, "of": 12, "share": 0.75}
    assert all(passed for key, passed in _checks(result).items() if key[1] != "coverage_meets_goal")


def test_subset_materialization_updates_only_that_family(resources: dict, instance,
                                                         database_uri: str) -> None:
    assert materialize_cache(resources, instance).success
    before = [r for r in raw_rows(database_uri) if r[2] != "market_cap"]
    market_cap_before = {r[3]: r for r in raw_rows(database_uri) if r[2] == "market_cap"}
    execute(database_uri, "UPDATE symbols SET market_cap = 250e9 WHERE symbol = 'JPM'")
    result = materialize_cache(resources, instance, selection=["market_cap"])
    assert result.success
    metadata = materialization_metadata(result)
    assert list(metadata) == ["market_cap"]
    assert metadata["market_cap"]["families_in_commit"] == "market_cap"
    assert metadata["market_cap"]["rows_updated"] == 2 and metadata["market_cap"]["universes_changed"] == 2
    assert metadata["market_cap"]["tickers_added"] == 1 and metadata["market_cap"]["tickers_removed"] == 1
    assert _checks(result) == {("market_cap", "protected_rows_unchanged"): True,
                               ("market_cap", "buckets_match_symbols"): True}
    assert [r for r in raw_rows(database_uri) if r[2] != "market_cap"] == before  # stale leaders untouched
    after = {r[3]: r for r in raw_rows(database_uri) if r[2] == "market_cap"}
    assert {k for k in after if after[k] != market_cap_before[k]} == {"mega_cap", "large_cap"}
    mega = cache_values(database_uri)[("stock_universe", "market_cap", "mega_cap")]
    assert [s["ticker"] for s in mega["stocks"]] == ["AAPL", "MSFT", "JPM", "NVDA"]


def test_checks_fail_on_a_tampered_cache(resources: dict, instance, database_uri: str) -> None:
    _drop_stocks_without_cap(database_uri)
    assert materialize_cache(resources, instance).success
    execute(database_uri, "UPDATE symbols SET market_cap = 1e6 WHERE symbol = 'AAPL'")
    execute(database_uri, "UPDATE cache_entries SET value = '[\"NVDA\", \"NOPE\"]' WHERE type = 'themes' "
                          "AND name = 'AI'")
    execute(database_uri, "DELETE FROM cache_entries WHERE name = 'sector_leaders' "
                          "AND key = 'top_10_energy'")
    execute(database_uri, "UPDATE symbols SET active = false WHERE symbol = 'SPY'")
    result = materialize_cache(resources, instance, selection=dg.AssetSelection.all_asset_checks())
    assert result.success and materialization_metadata(result) == {}  # checks only: nothing rebuilt
    checks = _checks(result)
    assert checks == {("market_cap", "buckets_match_symbols"): False,
                      ("themes", "themes_hold_only_loaded_tickers"): False,
                      ("sector_leaders", "every_sector_has_leaders"): False,
                      ("complete", "complete_lists_match_symbols"): False,
                      ("combo", "combo_matches_symbols"): False,  # AAPL fell out, SPY is gone
                      ("stats", "coverage_meets_goal"): True}
    evaluations = _evaluations(result)
    assert all(e.severity == dg.AssetCheckSeverity.ERROR for k, e in evaluations.items() if not e.passed)
    assert "AAPL" in json.dumps({k: v.value for k, v in evaluations[
        ("market_cap", "buckets_match_symbols")].metadata.items()}, default=str)


def test_append_mode_through_run_config_keeps_custom_universes(resources: dict, instance, database_uri: str,
                                                               redis_client: redis_lib.Redis) -> None:
    add_entry(database_uri, "stock_universe", "custom", "mine", '["AAPL"]')
    config = {"ops": {"cache_entries": {"config": {"mode": "append"}}}}
    result = materialize_cache(resources, instance, run_config=config)
    assert result.success and materialization_metadata(result)["complete"]["mode"] == "append"
    assert cache_values(database_uri)[("stock_universe", "custom", "mine")] == ["AAPL"]
    with Subscriber(redis_client) as heard:
        result = materialize_cache(resources, instance)  # replace (the default) removes it
    assert result.success and materialization_metadata(result)["complete"]["mode"] == "replace"
    assert ("stock_universe", "custom", "mine") not in cache_values(database_uri)
    messages = dict(heard)
    assert messages["cache_updates"]["stats"]["deleted"] == 1
    assert messages["universe_updates"]["universes"] == {
        "stock_universe|custom|mine": {"status": "deleted", "added": [], "removed": ["AAPL"]}}
    assert cache_values(database_uri)[("app_settings", "ui", "theme")] == {"dark": True}


def test_bad_config_file_fails_the_run_naming_the_line_and_writes_nothing(
        resources: dict, instance, database_uri: str, redis_client: redis_lib.Redis, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("themes:\n  ai:\n    display_name: AI\n    tickers: [NVDA, 'no good']\n")
    before = raw_rows(database_uri)
    with Subscriber(redis_client) as heard:
        result = materialize_cache(resources, instance, raise_on_error=False,
                              run_config={"ops": {"cache_entries": {"config": {"config_path": str(bad)}}}})
    assert not result.success
    assert f"{bad} line 4: themes.ai.tickers[1]" in _error_text(result)
    assert raw_rows(database_uri) == before
    assert [channel for channel, _ in heard] == ["admin_notifications"]  # the failure, and only that
    assert heard[0][1]["event"] == "cache_rebuild_failed" and "line 4" in heard[0][1]["error"]


def test_config_path_is_used_and_recorded(resources: dict, instance, database_uri: str,
                                          tmp_path: Path) -> None:
    custom = tmp_path / "mine.yaml"
    custom.write_text("themes:\n  mine:\n    display_name: Mine\n    tickers: [AAPL, JPM]\n")
    config = {"ops": {"cache_entries": {"config": {"config_path": str(custom), "environment": "TEST"}}}}
    result = materialize_cache(resources, instance, run_config=config, selection=["themes"])
    assert result.success
    assert materialization_metadata(result)["themes"]["config_path"] == str(custom)
    assert cache_values(database_uri, "TEST")[("themes", "Mine", "list")] == ["AAPL", "JPM"]
    assert ("themes", "Mine", "list") not in cache_values(database_uri)  # DEFAULT untouched
    assert _checks(result)[("themes", "themes_hold_only_loaded_tickers")] is True
