"""The `symbols` Launchpad as a data engineer uses it, on `tickstock ui` (the webserver and the real daemon on
one embedded instance): over GraphQL, a history beyond ten years is refused before any run exists; in
headless Chromium, symbols typed into the Launchpad are added, a longer history asked for one of them, and
their bars land through the daemon's sensor, with no CLI at all. Screenshots of each step go to
artifacts/ui/."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tickstock_pipelines.loading.requests import history_start
from tickstock_pipelines.market_calendar import last_completed_session, sessions_between
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_tickstock_ui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ADDED = ("PLTR", "ARM", "SMCI")  # an ADR among them: ARM

VALID = """
query Valid($p: PipelineSelector!, $c: RunConfigData!) {
  isPipelineConfigValid(pipeline: $p, mode: "default", runConfigData: $c) {
    __typename ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
LAUNCH = """
mutation Launch($p: ExecutionParams!) {
  launchRun(executionParams: $p) {
    __typename ... on RunConfigValidationInvalid { errors { message } } ... on PythonError { message }
  }
}
"""
RUNS = "{ runsOrError { ... on Runs { results { runId } } } }"
SENSOR_RUNS = """
query SensorRuns($sensor: String!) {
  runsOrError(filter: {tags: [{key: "dagster/sensor_name", value: $sensor}]}) {
    ... on Runs { results { runId status } }
  }
}
"""


@pytest.fixture(scope="module")
def ui(pg_template_uri: str, redis_url: str,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`tickstock ui` on fresh databases: nothing loaded yet. Yields the UI's URL and the app database."""
    app = create_database(pg_template_uri, "launchpad_app")
    storage = create_database(pg_template_uri, "launchpad_dagster")
    env = {**os.environ, "DATABASE_URI": app, "REDIS_URL": redis_url}
    with running_tickstock_ui(tmp_path_factory.mktemp("launchpad_home"), storage, env) as url:
        yield url, app


def _selector(url: str) -> dict[str, Any]:
    """The asset Launchpad's job: Dagster's asset job with `symbols` selected."""
    [repo] = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                          "location { name } } } } }")["repositoriesOrError"]["nodes"]
    return {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
            "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": ["symbols"]}]}


def _runs(url: str) -> int:
    return len(graphql(url, RUNS)["runsOrError"]["results"])


def _symbols_config(**config: Any) -> dict[str, Any]:
    return {"ops": {"symbols": {"config": config}}}


def test_graphql_launchpad_refuses_a_history_beyond_ten_years_before_any_run(ui: tuple[str, str]) -> None:
    url, _ = ui
    selector = _selector(url)
    runs = _runs(url)
    good = graphql(url, VALID, {"p": selector, "c": _symbols_config(symbols="PLTR,ARM,SMCI",
                                                                     history="TEN_YEARS")})
    assert good["isPipelineConfigValid"]["__typename"] == "PipelineConfigValidationValid"
    too_long = _symbols_config(symbols="PLTR,ARM,SMCI", history="TWENTY_YEARS")
    refused = graphql(url, VALID, {"p": selector, "c": too_long})["isPipelineConfigValid"]
    assert refused["__typename"] == "RunConfigValidationInvalid"
    [error] = refused["errors"]
    assert "history" in error["message"] and "TWENTY_YEARS" in error["message"]
    params = {"selector": {**selector, "jobName": "__ASSET_JOB"}, "runConfigData": too_long}
    params["selector"].pop("pipelineName")
    launched = graphql(url, LAUNCH, {"p": params})["launchRun"]
    assert launched["__typename"] == "RunConfigValidationInvalid", launched
    assert _runs(url) == runs  # refused before any run exists


def _stored(app: str, symbols: tuple[str, ...]) -> dict[str, set[date]]:
    with sa.create_engine(app).connect() as conn:
        rows = conn.execute(sa.text("SELECT symbol, date FROM ohlcv_daily WHERE symbol = ANY(:s)"),
                            {"s": list(symbols)}).all()
    stored: dict[str, set[date]] = {s: set() for s in symbols}
    for symbol, day in rows:
        stored[symbol].add(day)
    return stored


def _wait_for_bars(app: str, symbols: tuple[str, ...], start: date, end: date, timeout: float) -> None:
    """Until every symbol holds a bar for every session from `start` to `end` (the daemon's runs)."""
    wanted = {d.astype(date) for d in sessions_between(start, end)}
    deadline = time.monotonic() + timeout
    while True:
        missing = {s: len(wanted - days) for s, days in _stored(app, symbols).items() if wanted - days}
        if not missing:
            return
        assert time.monotonic() < deadline, f"sessions still missing after {timeout:.0f} s: {missing}"
        time.sleep(3)


def _wait_for_sensor_runs(url: str, sensor: str, count: int, timeout: float) -> list[str]:
    """Until `count` runs the sensor launched have succeeded (none failed); their ids."""
    deadline = time.monotonic() + timeout
    while True:
        runs = graphql(url, SENSOR_RUNS, {"sensor": sensor})["runsOrError"]["results"]
        assert not [r for r in runs if r["status"] == "FAILURE"], runs
        done = [r["runId"] for r in runs if r["status"] == "SUCCESS"]
        if len(done) >= count:
            return done
        assert time.monotonic() < deadline, f"{sensor}: {runs} after {timeout:.0f} s"
        time.sleep(3)


def _open_launchpad(page: Any, url: str) -> None:
    """The `symbols` asset page → the Materialize button's menu → Open launchpad."""
    page.goto(f"{url}/assets/symbols", wait_until="networkidle")
    skip = page.get_by_text("Skip", exact=True)  # the first-visit community dialog
    if skip.count():
        skip.first.click()
    page.locator("button", has_text="Materialize").first.locator("xpath=following::button[1]").click()
    page.get_by_text("Open launchpad").first.click()
    page.locator(".CodeMirror").first.wait_for(timeout=60_000)
    page.get_by_text("Launchpad (configure assets)").first.click()  # closes the Materialize menu
    page.wait_for_timeout(1500)  # the editor fills in the default config


def _type_config(page: Any, text: str) -> None:
    """Replace the editor's config with `text`, as a user typing (or pasting) it; the cursor stays on
    the last line, inside the asset's config, so the side panel documents its fields."""
    page.locator(".CodeMirror").first.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)
    page.wait_for_timeout(2000)  # the config is validated as it is typed


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="headless Chromium is not installed (CI installs it and requires it)")
def test_browser_launchpad_alone_adds_symbols_and_widens_a_loaded_symbols_history(
        ui: tuple[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    url, app = ui
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    end = last_completed_session()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM or "/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        _open_launchpad(page, url)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_opened.png"))

        runs = _runs(url)
        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR,ARM,SMCI\n"
                           "      history: TWENTY_YEARS")
        page.get_by_text("not in enum type History").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_history_refused.png"))
        assert page.locator("button", has_text="Materialize").last.is_disabled()
        assert _runs(url) == runs

        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR,ARM,SMCI\n"
                           "      history: ONE_MONTH")
        page.get_by_text("No errors").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add.png"))
        page.locator("button", has_text="Materialize").last.click()
        page.wait_for_url("**/runs/**", timeout=60_000)
        page.get_by_text("symbols", exact=True).first.wait_for(timeout=60_000)

        # the new-symbols sensor adds their partitions and backfills them in one run
        _wait_for_bars(app, ADDED, history_start(end, months=1), end, timeout=360)
        [backfill] = _wait_for_sensor_runs(url, "new_symbols_sensor", 1, timeout=120)
        page.reload(wait_until="networkidle")
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add_run.png"))
        page.goto(f"{url}/runs", wait_until="networkidle")
        page.get_by_text("new_symbols_sensor").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add_backfill_runs.png"))
        page.goto(f"{url}/runs/{backfill}", wait_until="networkidle")
        page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add_backfill_run.png"))
        page.goto(f"{url}/assets/ohlcv_daily?view=partitions&partition=PLTR", wait_until="networkidle")
        page.get_by_text("rows_inserted").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add_partitions.png"))

        # more history for a loaded symbol: the same Launchpad, a longer history; the sensor fetches it
        _open_launchpad(page, url)
        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR\n      history: SIX_MONTHS")
        page.get_by_text("No errors").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_widen.png"))
        page.locator("button", has_text="Materialize").last.click()
        page.wait_for_url("**/runs/**", timeout=60_000)
        _wait_for_bars(app, ("PLTR",), history_start(end, months=6), end, timeout=360)
        runs = _wait_for_sensor_runs(url, "new_symbols_sensor", 2, timeout=120)
        widened = [r for r in runs if r != backfill]
        page.goto(f"{url}/runs/{widened[0]}", wait_until="networkidle")
        page.get_by_text("RUN_SUCCESS").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_widen_run.png"))
        page.goto(f"{url}/assets/ohlcv_daily?view=partitions&partition=PLTR", wait_until="networkidle")
        page.get_by_text("rows_inserted").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_widen_partition.png"))
        browser.close()
    with sa.create_engine(app).connect() as conn:
        requests = conn.execute(sa.text("SELECT symbols, start_date FROM load_requests")).all()
    assert [(sorted(s), d) for s, d in requests] == [(sorted(ADDED), history_start(end, months=1)),
                                                     (["PLTR"], history_start(end, months=6))]
    stored = _stored(app, ADDED)  # the other symbols keep the month they asked for
    assert min(stored["SMCI"]) == min(stored["ARM"]) >= history_start(end, months=1)
