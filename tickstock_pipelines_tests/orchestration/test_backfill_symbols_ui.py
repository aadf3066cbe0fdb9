"""Done when: a UI backfill of three non-adjacent symbols is ONE run storing bars for exactly the three.

`tickstock ui` (webserver and daemon) on a fresh instance; five symbols loaded, their partitions in the
order AAPL, KO, MSFT, JPM, NVDA; the three picked are behind by a few sessions each (loaded days ago: the
new-symbols sensor fills history wanted before what is loaded, not these). The operator's way (README:
Jobs → backfill_symbols → Launchpad) is launched over GraphQL as the Launch Run button does, queued and
run by the daemon. Dagster's own partition backfill of the same three makes one run per contiguous range.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from dagster import DagsterInstance

from tickstock_pipelines.instance import instance_config
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.market_data_runs import run_load
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_tickstock_ui

ADDED = ["AAPL", "KO", "MSFT", "JPM", "NVDA"]
PICKED = ["AAPL", "MSFT", "NVDA"]  # partitions 1, 3 and 5: three ranges for Dagster
BEHIND = {"AAPL": 5, "MSFT": 3, "NVDA": 8}  # latest sessions missing per picked symbol
FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def ui(pg_template_uri: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
        tuple[str, str, dict[str, int]]]:
    """The served UI, the application database and each symbol's bars once complete."""
    app = create_database(pg_template_uri, "backfill_ui_app")
    home = tmp_path_factory.mktemp("backfill_ui")
    storage = create_database(pg_template_uri, "backfill_ui_dagster")
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_config(storage)))
    instance = DagsterInstance.from_config(str(home))
    resources = {"database": DatabaseResource(uri=app), "redis": RedisResource(url=redis_url),
                 "polygon": PolygonResource()}  # no key: the sandbox, as the daemon's runs will use
    for keys, months in ((["AAPL"], 3), (ADDED[1:], 1)):
        assert run_load(instance, resources, {"symbols": keys, "months": months}, keys,
                        ["symbols", "ohlcv_daily"]).success
    with sa.create_engine(app).begin() as conn:
        complete = dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_daily GROUP BY 1")).all())
        for symbol, sessions in BEHIND.items():
            conn.execute(sa.text("DELETE FROM ohlcv_daily WHERE symbol = :s AND date IN (SELECT date FROM "
                                 "ohlcv_daily WHERE symbol = :s ORDER BY date DESC LIMIT :k)"),
                         {"s": symbol, "k": sessions})
            conn.execute(sa.text("UPDATE coverage_targets SET loaded_end = (SELECT max(date) FROM "
                                 "ohlcv_daily WHERE symbol = :s) WHERE symbol = :s AND timespan = 'day'"),
                         {"s": symbol})
    env = {**os.environ, "DATABASE_URI": app, "REDIS_URL": redis_url}
    with running_tickstock_ui(home, storage, env) as url:
        yield url, app, complete


def _repository(url: str) -> dict[str, str]:
    [repo] = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                          "location { name } } } } }")["repositoriesOrError"]["nodes"]
    return {"repositoryName": repo["name"], "repositoryLocationName": repo["location"]["name"]}


RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) { ... on Runs { results { runId jobName status tags { key value } } } }
}
"""
PARTITIONS = """
query Partitions($partitions: [String!]) {
  assetNodeOrError(assetKey: {path: ["ohlcv_daily"]}) {
    ... on AssetNode {
      assetMaterializations(partitions: $partitions) {
        partition runId metadataEntries { label ... on IntMetadataEntry { intValue } }
      }
    }
  }
}
"""


def _runs(url: str, filter_: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return graphql(url, RUNS, {"filter": filter_})["runsOrError"]["results"]


def _wait_finished(url: str, filter_: dict[str, Any], count: int, seconds: float = 300) -> list[dict]:
    deadline = time.monotonic() + seconds
    while True:
        runs = _runs(url, filter_)
        if len(runs) >= count and all(r["status"] in FINISHED for r in runs):
            return runs
        assert time.monotonic() < deadline, f"runs not finished within {seconds} s: {runs}"
        time.sleep(2)


def test_the_operators_backfill_of_three_non_adjacent_symbols_is_one_run_storing_exactly_their_bars(
        ui: tuple[str, str, dict[str, int]]) -> None:
    url, app, complete = ui
    query = ("mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
             "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } "
             "... on RunConfigValidationInvalid { errors { message } } } }")
    params = {"selector": {**_repository(url), "jobName": "backfill_symbols"},
              "runConfigData": {"ops": {"backfill_daily_bars": {"config": {"symbols": "AAPL,MSFT,NVDA"}}}}}
    launched = graphql(url, query, {"p": params})["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    [run] = _wait_finished(url, {"runIds": [run_id]}, 1)
    assert run["status"] == "SUCCESS" and run["jobName"] == "backfill_symbols"
    assert [r["runId"] for r in _runs(url) if r["jobName"] != "load_job"] == [run_id]  # one run, no other
    assert len(_runs(url)) == 3  # and the two setup loads

    with sa.create_engine(app).connect() as conn:
        stored = dict(conn.execute(sa.text("SELECT symbol, count(*) FROM ohlcv_daily GROUP BY symbol")).all())
    assert stored == complete and stored["AAPL"] > stored["MSFT"] > 15  # the three caught up, 3 months vs 1
    events = graphql(url, PARTITIONS, {"partitions": ADDED})["assetNodeOrError"]["assetMaterializations"]
    mine = [e for e in events if e["runId"] == run_id]  # the setup load materialized all five before
    assert sorted(e["partition"] for e in mine) == PICKED
    assert len(events) == len(ADDED) + len(PICKED)  # and no other run materialized any partition since
    for event in mine:
        figures = {m["label"]: m.get("intValue") for m in event["metadataEntries"]}
        assert figures["rows_inserted"] == BEHIND[event["partition"]], event["partition"]  # its own rows
        assert figures["dagster/row_count"] == stored[event["partition"]]


def test_dagsters_own_partition_backfill_of_the_same_three_is_one_run_per_range(
        ui: tuple[str, str, dict[str, int]]) -> None:
    """Why the job exists: Dagster 1.13 gives a run one key or one contiguous range, even with
    BackfillPolicy.single_run(). (When this fails, Dagster runs a partition subset in one run.)"""
    url = ui[0]
    query = ("mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) { "
             "__typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }")
    params = {"partitionNames": PICKED, "assetSelection": [{"path": ["ohlcv_daily"]}]}
    launched = graphql(url, query, {"p": params})["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill = {"tags": [{"key": "dagster/backfill", "value": launched["backfillId"]}]}
    runs = _wait_finished(url, backfill, 3)
    ranges = sorted((t["dagster/asset_partition_range_start"], t["dagster/asset_partition_range_end"])
                    for t in ({x["key"]: x["value"] for x in r["tags"]} for r in runs))
    assert ranges == [("AAPL", "AAPL"), ("MSFT", "MSFT"), ("NVDA", "NVDA")]
