"""The Dagster UI as admin panel: a real webserver on the embedded instance, checked over GraphQL and in
headless Chromium (screenshots kept under artifacts/ui/), after a real `tickstock load` and `tickstock cache
rebuild` on the same instance, so the pages show what a data engineer sees after a load."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_webserver

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

FAMILIES = {"market_cap", "sector_leaders", "market_leaders", "themes", "industry", "etf_universes",
            "complete", "stats"}
MARKET_DATA = {"symbols", "ohlcv_daily", "ohlcv_minute", "etf_metadata"}

REPOSITORY_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        jobs { name }
        schedules { name cronSchedule executionTimezone }
        sensors { name }
        assetNodes { assetKey { path } groupName hasAssetChecks description }
      }
    }
  }
}
"""


LATEST_QUERY = """
query Latest($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetMaterializations(limit: 1) {
        metadataEntries {
          label
          ... on IntMetadataEntry { intValue }
          ... on BoolMetadataEntry { boolValue }
          ... on MarkdownMetadataEntry { mdStr }
        }
      }
      assetChecksOrError {
        ... on AssetChecks { checks { name executionForLatestMaterialization { status } } }
      }
    }
  }
}
"""
LOADED = ("AAPL", "MSFT", "SPY")
EARLIER = "AAPL"  # loaded with one month first, so the three-symbol run inserts fewer of its rows


@pytest.fixture(scope="module")
def ui_app(pg_template_uri: str) -> str:
    """The application database the webserver's runs write to."""
    return create_database(pg_template_uri, "ui_app")


@pytest.fixture(scope="module")
def webserver(pg_template_uri: str, redis_url: str, ui_app: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    storage = create_database(pg_template_uri, "ui_dagster")
    home = tmp_path_factory.mktemp("ui_home")
    with running_webserver(home, storage, ui_app) as base_url:
        env = {**os.environ, "DAGSTER_HOME": str(home), "DATABASE_URI": ui_app, "REDIS_URL": redis_url}
        for args in (("load", "--symbols", EARLIER, "--months", "1"),
                     ("load", "--symbols", ",".join(LOADED), "--months", "3"), ("cache", "rebuild")):
            done = tickstock(env, *args)
            assert done.returncode == 0, done.stderr[-3000:]
        yield base_url


def _latest(base_url: str, asset: str) -> tuple[dict[str, dict], dict[str, str | None]]:
    """The latest materialization's metadata by label, and each check's status for it."""
    node = graphql(base_url, LATEST_QUERY, {"path": [asset]})["assetNodeOrError"]
    [event] = node["assetMaterializations"]
    checks = {c["name"]: (c["executionForLatestMaterialization"] or {}).get("status")
              for c in node["assetChecksOrError"]["checks"]}
    return {e["label"]: e for e in event["metadataEntries"]}, checks


def test_graphql_shows_the_load_and_the_rebuild_with_metadata_and_passing_checks(webserver: str) -> None:
    daily, daily_checks = _latest(webserver, "ohlcv_daily")
    assert daily["rows_inserted"]["intValue"] > 20  # at least a month of one symbol's sessions
    assert daily["sandbox"]["boolValue"] is True and "| date | open |" in daily["preview"]["mdStr"]
    assert daily_checks == {"bars_are_valid": "SUCCEEDED", "no_missing_sessions": "SUCCEEDED",
                            "last_bar_is_last_completed_session": "SUCCEEDED"}
    symbols, symbols_checks = _latest(webserver, "symbols")
    assert set(symbols_checks.values()) == {"SUCCEEDED"}
    market_cap, market_cap_checks = _latest(webserver, "market_cap")
    assert market_cap_checks and set(market_cap_checks.values()) == {"SUCCEEDED"}
    assert market_cap["entries_written"]["intValue"] >= 1 and market_cap["rows_inserted"]["intValue"] >= 1
    assert market_cap["redis_notified"]["boolValue"] is True


PARTITIONS_QUERY = """
query Partitions($path: [String!]!, $partitions: [String!]) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      assetMaterializations(partitions: $partitions) {
        partition runId
        metadataEntries { label ... on IntMetadataEntry { intValue } ... on TextMetadataEntry { text } }
      }
    }
  }
}
"""
RUN_TAGS_QUERY = """
query Run($runId: ID!) { runOrError(runId: $runId) { ... on Run { tags { key value } } } }
"""


def test_graphql_each_partition_shows_its_own_symbols_rows_and_the_run_its_totals(
        webserver: str, ui_app: str) -> None:
    """The three-symbol run's materialization of partition AAPL says AAPL's rows (two months new, three
    stored), not the run's total; the totals are on the run's tags and are the partitions' sum."""
    with sa.create_engine(ui_app).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_daily GROUP BY symbol")).all())
        before = conn.execute(sa.text(  # the bars the one-month load stored first
            "SELECT count(*) FROM ohlcv_daily WHERE symbol = :s AND date >= "
            "(SELECT start_date FROM load_requests ORDER BY id LIMIT 1)"), {"s": EARLIER}).scalar_one()
    node = graphql(webserver, PARTITIONS_QUERY, {"path": ["ohlcv_daily"], "partitions": list(LOADED)})
    events = node["assetNodeOrError"]["assetMaterializations"]
    [run_id] = {e["runId"] for e in events if e["partition"] == "MSFT"}  # the three-symbol run
    latest = {e["partition"]: {m["label"]: m.get("intValue", m.get("text")) for m in e["metadataEntries"]}
              for e in events if e["runId"] == run_id}
    assert set(latest) == set(LOADED)
    for symbol in LOADED:
        inserted = stored[symbol] - (before if symbol == EARLIER else 0)
        assert latest[symbol]["rows_inserted"] == inserted, (symbol, latest[symbol])
        assert latest[symbol]["dagster/row_count"] == stored[symbol]
        assert latest[symbol]["aggregates_calls"] == 1
    assert latest[EARLIER]["rows_inserted"] < latest["MSFT"]["rows_inserted"]
    tags = {t["key"]: t["value"] for t in graphql(webserver, RUN_TAGS_QUERY, {"runId": run_id})
            ["runOrError"]["tags"]}
    assert int(tags["tickstock/ohlcv_daily.rows_inserted"]) == sum(m["rows_inserted"]
                                                                   for m in latest.values())
    assert int(tags["tickstock/ohlcv_daily.symbols"]) == len(LOADED)


DESCRIPTIONS_QUERY = """
{
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name location { name }
        jobs { name description }
        schedules { name description }
        sensors { name description }
        assetNodes {
          assetKey { path } description
          assetChecksOrError { ... on AssetChecks { checks { name description } } }
        }
        allTopLevelResourceDetails { name description configFields { name description } }
      }
    }
  }
}
"""
CONFIG_QUERY = """
query Config($selector: PipelineSelector!) {
  runConfigSchemaOrError(selector: $selector) {
    ... on RunConfigSchema {
      allConfigTypes { key description ... on CompositeConfigType { fields { name description } } }
    }
  }
}
"""
CODE_SPAN = re.compile(r"`[^`]*`")
LOST_PLACEHOLDER = re.compile(r"<[A-Za-z][A-Za-z0-9 _.-]*>")


def lost_placeholders(texts: dict[str, str | None]) -> dict[str, list[str]]:
    """`<word>` outside code spans: the UI's markdown renderer takes it for an HTML tag and drops it."""
    found = {where: LOST_PLACEHOLDER.findall(CODE_SPAN.sub("", text or "")) for where, text in texts.items()}
    return {where: lost for where, lost in found.items() if lost}


def test_lost_placeholder_finder_spares_code_spans() -> None:
    assert lost_placeholders({"a": "top_10_<sector>: x", "b": "`top_10_<sector>`", "c": "a < b > c"}) == {
        "a": ["<sector>"]}


def test_graphql_descriptions_keep_their_placeholders(webserver: str) -> None:
    """Every asset, check, job, schedule, sensor, resource and config-field description as the UI reads it."""
    [repo] = graphql(webserver, DESCRIPTIONS_QUERY)["repositoriesOrError"]["nodes"]
    texts: dict[str, str | None] = {}
    for kind in ("jobs", "schedules", "sensors"):
        texts |= {f"{kind} {n['name']}": n["description"] for n in repo[kind]}
    for node in repo["assetNodes"]:
        key = "/".join(node["assetKey"]["path"])
        texts[f"asset {key}"] = node["description"]
        texts |= {f"check {key}.{c['name']}": c["description"]
                  for c in (node["assetChecksOrError"].get("checks") or [])}
    for resource in repo["allTopLevelResourceDetails"]:
        texts[f"resource {resource['name']}"] = resource["description"]
        texts |= {f"resource {resource['name']}.{f['name']}": f["description"]
                  for f in resource["configFields"]}
    for job in repo["jobs"]:
        selector = {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
                    "pipelineName": job["name"]}
        schema = graphql(webserver, CONFIG_QUERY, {"selector": selector})["runConfigSchemaOrError"]
        for config_type in schema["allConfigTypes"]:
            texts[f"config {config_type['key']}"] = config_type["description"]
            texts |= {f"config {config_type['key']}.{f['name']}": f["description"]
                      for f in config_type.get("fields") or []}
    assert len([t for t in texts.values() if t]) > 50  # the query reached every kind of description
    assert lost_placeholders(texts) == {}


def test_graphql_lists_assets_checks_jobs_schedules_and_sensors(webserver: str) -> None:
    [repo] = graphql(webserver, REPOSITORY_QUERY)["repositoriesOrError"]["nodes"]
    nodes = {"/".join(n["assetKey"]["path"]): n for n in repo["assetNodes"]}
    assert MARKET_DATA | FAMILIES <= set(nodes)
    assert {nodes[k]["groupName"] for k in MARKET_DATA} == {"market_data"}
    assert {nodes[k]["groupName"] for k in FAMILIES} == {"cache_entries"}
    assert all(nodes[k]["description"] for k in MARKET_DATA | FAMILIES)
    assert nodes["ohlcv_daily"]["hasAssetChecks"] and nodes["market_cap"]["hasAssetChecks"]
    jobs = {j["name"] for j in repo["jobs"]}
    assert {"load_job", "cache_rebuild_job"} <= jobs
    schedules = {s["name"]: s for s in repo["schedules"]}
    assert {"weekly_refresh", "monthly_full_rebuild", "quarterly_theme_review"} <= set(schedules)
    assert {s["executionTimezone"] for s in schedules.values()} == {"America/New_York"}
    sensors = {s["name"] for s in repo["sensors"]}
    assert {"admin_notify_on_success", "admin_notify_on_failure"} <= sensors


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="headless Chromium is not installed (CI installs it and requires it)")
def test_browser_shows_asset_graph_and_launchpad(webserver: str) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{webserver}/overview", wait_until="networkidle")
        skip = page.get_by_text("Skip", exact=True)  # the first-visit community dialog
        if skip.count():
            skip.first.click()
        location = f"{webserver}/locations/tickstock_pipelines"
        page.goto(f"{location}/asset-groups/cache_entries", wait_until="networkidle")
        page.get_by_text("market_cap", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "asset_graph_cache_entries.png"))

        page.goto(f"{location}/asset-groups/market_data", wait_until="networkidle")
        page.get_by_text("ohlcv_daily", exact=True).first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "asset_graph_market_data.png"))

        page.goto(f"{webserver}/assets/ohlcv_daily", wait_until="networkidle")
        page.get_by_text("rows_inserted").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "asset_ohlcv_daily.png"), full_page=True)

        page.goto(f"{webserver}/assets/ohlcv_daily?view=partitions&partition=MSFT", wait_until="networkidle")
        page.get_by_text("rows_inserted").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "asset_ohlcv_daily_partition_msft.png"), full_page=True)

        page.goto(f"{webserver}/assets/sector_leaders", wait_until="networkidle")
        page.get_by_text("top_10_{sector}").first.wait_for(timeout=60_000)  # the placeholder survives
        page.screenshot(path=str(ARTIFACTS / "asset_sector_leaders.png"), full_page=True)

        page.goto(f"{webserver}/assets/market_cap", wait_until="networkidle")
        page.get_by_text("Latest materialization").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "asset_market_cap.png"), full_page=True)

        page.goto(f"{location}/jobs/load_job/playground", wait_until="networkidle")
        page.get_by_text("Launch run").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_load_job.png"))

        page.goto(f"{webserver}/automation", wait_until="networkidle")
        page.get_by_text("weekly_refresh").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "automation.png"))
        browser.close()
    assert all((ARTIFACTS / name).stat().st_size > 10_000 for name in (
        "asset_graph_cache_entries.png", "asset_graph_market_data.png", "asset_ohlcv_daily.png",
        "asset_market_cap.png", "launchpad_load_job.png", "automation.png",
        "asset_ohlcv_daily_partition_msft.png", "asset_sector_leaders.png"))
