"""The `symbols` Launchpad as a data engineer uses it, on `tickstock ui` (the webserver and the real daemon on
one embedded instance): over GraphQL, the Launchpad lays the request out with its defaults and descriptions,
and a history beyond ten years (or the CLI's `years: 20`) is refused before any run exists, in the words the
CLI uses; in headless Chromium, symbols typed into the Launchpad are added, a longer history asked for one
of them, and their bars land through the daemon's sensor, with no CLI at all. Screenshots of each step go
to artifacts/ui/."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from tickstock_pipelines.loading.requests import HISTORY_TYPE, history_start
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines_tests.support import launchpad as lp
from tickstock_pipelines_tests.support.cli_helpers import said, tickstock
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_tickstock_ui

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ADDED = ("PLTR", "ARM", "SMCI")  # an ADR among them: ARM

@pytest.fixture(scope="module")
def ui(pg_template_uri: str, redis_url: str,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """`tickstock ui` on fresh databases: nothing loaded yet. Yields the UI's URL and the app database."""
    app = create_database(pg_template_uri, "launchpad_app")
    storage = create_database(pg_template_uri, "launchpad_dagster")
    env = {**os.environ, "DATABASE_URI": app, "REDIS_URL": redis_url}
    with running_tickstock_ui(tmp_path_factory.mktemp("launchpad_home"), storage, env) as url:
        yield url, app


def test_graphql_launchpad_lays_out_the_symbols_request_with_defaults_and_descriptions(
        ui: tuple[str, str]) -> None:
    """What the Launchpad builds its editor from: the default config it opens with (`rootDefaultYaml`, also
    "Expand defaults") and the `symbols` op's config type, whose fields it documents beside the editor."""
    url, _ = ui
    schema = graphql(url, lp.SCHEMA, {"p": lp.selector(url)})["runConfigSchemaOrError"]
    types = {t["key"]: t for t in schema["allConfigTypes"]}

    def field(type_key: str, name: str) -> dict[str, Any]:
        return next(f for f in types[type_key]["fields"] if f["name"] == name)

    ops = field(schema["rootConfigType"]["key"], "ops")["configTypeKey"]
    config = field(field(ops, "symbols")["configTypeKey"], "config")["configTypeKey"]
    fields = {f["name"]: f for f in types[config]["fields"]}
    assert "years" not in fields and "months" not in fields  # the CLI's flags reach a run as its tag
    defaults = {n: json.loads(f["defaultValueAsJson"]) for n, f in fields.items() if f["defaultValueAsJson"]}
    assert {n: defaults.get(n) for n in ("universe", "symbols", "symbols_csv", "history", "timespan",
                                         "priority")} == {
        "universe": "", "symbols": "", "symbols_csv": "", "history": "ONE_YEAR", "timespan": "day",
        "priority": "normal"}
    assert not [n for n, f in fields.items() if f["isRequired"]]  # the plain Materialize button needs none
    assert not [n for n, f in fields.items() if not f["description"]]
    assert "comma-separated" in fields["symbols"]["description"]
    [history] = types[fields["history"]["configTypeKey"]]["typeParamKeys"]
    assert types[history]["givenName"] == "History"
    assert [v["value"] for v in types[history]["values"]] == [
        "ONE_MONTH", "THREE_MONTHS", "SIX_MONTHS", "ONE_YEAR", "TWO_YEARS", "THREE_YEARS", "FIVE_YEARS",
        "TEN_YEARS"]
    assert HISTORY_TYPE in fields["history"]["description"]
    opened = yaml.safe_load(schema["rootDefaultYaml"])["ops"]["symbols"]["config"]  # the editor on opening
    assert {k: v for k, v in opened.items() if k in defaults} == {k: v for k, v in defaults.items()
                                                                  if k in opened}
    assert {"universe", "symbols", "symbols_csv", "history", "timespan", "priority"} <= set(opened)


def test_graphql_launchpad_refuses_a_history_beyond_ten_years_before_any_run_in_the_clis_words(
        ui: tuple[str, str]) -> None:
    url, app = ui
    selector = lp.selector(url)
    runs = lp.run_count(url)
    good = graphql(url, lp.VALID, {"p": selector, "c": lp.symbols_config(symbols="PLTR,ARM,SMCI",
                                                                     history="TEN_YEARS")})
    assert good["isPipelineConfigValid"]["__typename"] == "PipelineConfigValidationValid"
    too_long = lp.symbols_config(symbols="PLTR,ARM,SMCI", history="TWENTY_YEARS")
    refused = graphql(url, lp.VALID, {"p": selector, "c": too_long})["isPipelineConfigValid"]
    assert refused["__typename"] == "RunConfigValidationInvalid"
    [error] = refused["errors"]
    assert error["message"] == ("Value at path root:ops:symbols:config:history not in enum type History "
                                "got TWENTY_YEARS")
    years = lp.symbols_config(symbols="PLTR,ARM,SMCI", years=20)  # the CLI's flag is no Launchpad config
    [unknown] = graphql(url, lp.VALID, {"p": selector, "c": years})["isPipelineConfigValid"]["errors"]
    assert 'unexpected config entry "years"' in unknown["message"]
    for config in (too_long, years):
        params = {"selector": {**selector, "jobName": "__ASSET_JOB"}, "runConfigData": config}
        params["selector"].pop("pipelineName")
        launched = graphql(url, lp.LAUNCH, {"p": params})["launchRun"]
        assert launched["__typename"] == "RunConfigValidationInvalid", launched
    assert lp.run_count(url) == runs  # refused before any run exists
    # the CLI refuses 20 years naming the same enum type and choices the Launchpad documents
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    cli = tickstock({**env, "DATABASE_URI": app}, "load", "--symbols", "PLTR,ARM,SMCI", "--years", "20")
    assert cli.returncode == 2 and said(cli.stderr) == [
        f"tickstock: error: history must be more than 0 and at most 10 years, got 20 years; the Launchpad's "
        f"choices: {HISTORY_TYPE}"]
    assert HISTORY_TYPE == ("enum type History (ONE_MONTH, THREE_MONTHS, SIX_MONTHS, ONE_YEAR, TWO_YEARS, "
                            "THREE_YEARS, FIVE_YEARS, TEN_YEARS: 1 month to 10 years)")
    assert lp.run_count(url) == runs


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


CURSOR_ON_HISTORY = """() => {
  const editor = document.querySelector('.CodeMirror').CodeMirror;
  const line = editor.getValue().split('\\n').findIndex((text) => text.trim().startsWith('history:'));
  editor.focus();
  editor.setCursor({line, ch: editor.getLine(line).length});
  editor.scrollIntoView({line, ch: 0});
}"""


def _symbols_fields(page: Any) -> dict[str, Any]:
    """The request's fields as the Launchpad's editor holds them."""
    text = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    config = yaml.safe_load(text)["ops"]["symbols"]["config"]
    return {k: config.get(k) for k in ("universe", "symbols", "symbols_csv", "history")}


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
        # the editor opens with the request laid out, every field with its default; after a user's own
        # line, "Scaffold all default config" lays the rest out again; the side panel documents `history`
        assert _symbols_fields(page) == {"universe": "", "symbols": "", "symbols_csv": "",
                                         "history": "ONE_YEAR"}
        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR,ARM,SMCI\n")
        page.get_by_text("Scaffold all default config").first.click()
        page.get_by_role("button", name="Confirm").click()
        page.wait_for_timeout(1500)
        assert _symbols_fields(page) == {"universe": "", "symbols": "PLTR,ARM,SMCI", "symbols_csv": "",
                                         "history": "ONE_YEAR"}
        page.evaluate(CURSOR_ON_HISTORY)
        page.get_by_text("1 month to 10 years").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_scaffold.png"))

        runs = lp.run_count(url)
        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR,ARM,SMCI\n"
                           "      history: TWENTY_YEARS")
        page.get_by_text("not in enum type History").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_history_refused.png"))
        assert page.locator("button", has_text="Materialize").last.is_disabled()
        assert lp.run_count(url) == runs

        _type_config(page, "ops:\n  symbols:\n    config:\n      symbols: PLTR,ARM,SMCI\n"
                           "      history: ONE_MONTH")
        page.get_by_text("No errors").first.wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_add.png"))
        page.locator("button", has_text="Materialize").last.click()
        page.wait_for_url("**/runs/**", timeout=60_000)
        page.get_by_text("symbols", exact=True).first.wait_for(timeout=60_000)

        # the new-symbols sensor adds their partitions and backfills them in one run
        lp.wait_for_bars(app, ADDED, history_start(end, months=1), end, timeout=360)
        [backfill] = lp.wait_for_sensor_runs(url, "new_symbols_sensor", 1, timeout=120)
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
        lp.wait_for_bars(app, ("PLTR",), history_start(end, months=6), end, timeout=360)
        runs = lp.wait_for_sensor_runs(url, "new_symbols_sensor", 2, timeout=120)
        widened = [r for r in runs if r != backfill]
        page.goto(f"{url}/runs", wait_until="networkidle")  # the Launchpad's run, then the sensor's
        page.get_by_text("tickstock/widened: 1").first.wait_for(timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / "launchpad_symbols_widen_runs.png"))
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
    stored = lp.stored_days(app, ADDED)  # the other symbols keep the month they asked for
    assert min(stored["SMCI"]) == min(stored["ARM"]) >= history_start(end, months=1)
