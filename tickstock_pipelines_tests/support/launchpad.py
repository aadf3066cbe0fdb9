"""The `symbols` Launchpad over the webserver's GraphQL API: the queries the UI sends, the asset job it
launches, and waiting for what the daemon's sensor does afterwards."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import sqlalchemy as sa

from tickstock_pipelines.market_calendar import sessions_between
from tickstock_pipelines_tests.support.webserver import graphql

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
SCHEMA = """
query Schema($p: PipelineSelector!) {
  runConfigSchemaOrError(selector: $p, mode: "default") {
    ... on RunConfigSchema {
      rootDefaultYaml
      rootConfigType { key }
      allConfigTypes {
        key
        ... on CompositeConfigType { fields { name description isRequired defaultValueAsJson configTypeKey } }
        ... on NullableConfigType { typeParamKeys }
        ... on EnumConfigType { givenName values { value } }
      }
    }
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


def selector(url: str) -> dict[str, Any]:
    """The asset Launchpad's job: Dagster's asset job with `symbols` selected."""
    [repo] = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                          "location { name } } } } }")["repositoriesOrError"]["nodes"]
    return {"repositoryLocationName": repo["location"]["name"], "repositoryName": repo["name"],
            "pipelineName": "__ASSET_JOB", "assetSelection": [{"path": ["symbols"]}]}


def run_count(url: str) -> int:
    return len(graphql(url, RUNS)["runsOrError"]["results"])


def symbols_config(**config: Any) -> dict[str, Any]:
    return {"ops": {"symbols": {"config": config}}}


def stored_days(app: str, symbols: tuple[str, ...]) -> dict[str, set[date]]:
    with sa.create_engine(app).connect() as conn:
        rows = conn.execute(sa.text("SELECT symbol, date FROM ohlcv_daily WHERE symbol = ANY(:s)"),
                            {"s": list(symbols)}).all()
    stored: dict[str, set[date]] = {s: set() for s in symbols}
    for symbol, day in rows:
        stored[symbol].add(day)
    return stored


def wait_for_bars(app: str, symbols: tuple[str, ...], start: date, end: date, timeout: float) -> None:
    """Until every symbol holds a bar for every session from `start` to `end` (the daemon's runs)."""
    wanted = {d.astype(date) for d in sessions_between(start, end)}
    deadline = time.monotonic() + timeout
    while True:
        missing = {s: len(wanted - days) for s, days in stored_days(app, symbols).items() if wanted - days}
        if not missing:
            return
        assert time.monotonic() < deadline, f"sessions still missing after {timeout:.0f} s: {missing}"
        time.sleep(3)


def wait_for_sensor_runs(url: str, sensor: str, count: int, timeout: float) -> list[str]:
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
