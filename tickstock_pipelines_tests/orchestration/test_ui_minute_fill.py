"""The UI's fill figures after real `tickstock load` runs: `ohlcv_minute` counts only the symbols a request
asked minute history for (its own partition set), so a minute load of N symbols shows N of N, 100%."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_webserver

MINUTE = ("KO", "PEP", "MSFT")
DAY = ("AAPL",)

STATS_QUERY = """
query Stats($path: [String!]!) {
  assetNodeOrError(assetKey: {path: $path}) {
    ... on AssetNode {
      partitionKeys
      partitionStats { numMaterialized numPartitions numFailed numMaterializing }
    }
  }
}
"""


@pytest.fixture(scope="module")
def webserver(pg_template_uri: str, redis_url: str,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_database(pg_template_uri, "ui_minute_app")
    storage = create_database(pg_template_uri, "ui_minute_dagster")
    home = tmp_path_factory.mktemp("ui_minute_home")
    with running_webserver(home, storage, app) as base_url:
        env = {**os.environ, "DAGSTER_HOME": str(home), "DATABASE_URI": app, "REDIS_URL": redis_url}
        for args in (("load", "--symbols", ",".join(DAY), "--months", "1"),
                     ("load", "--symbols", ",".join(MINUTE), "--months", "1", "--timespan", "minute")):
            done = tickstock(env, *args)
            assert done.returncode == 0, done.stderr[-3000:]
        yield base_url


def _stats(base_url: str, asset: str) -> tuple[set[str], dict[str, int]]:
    node = graphql(base_url, STATS_QUERY, {"path": [asset]})["assetNodeOrError"]
    return set(node["partitionKeys"]), node["partitionStats"]


def test_a_minute_load_of_n_symbols_shows_ohlcv_minute_n_of_n_filled(webserver: str) -> None:
    keys, stats = _stats(webserver, "ohlcv_minute")
    assert keys == set(MINUTE)  # the day-loaded symbol is no ohlcv_minute partition
    assert stats == {"numMaterialized": len(MINUTE), "numPartitions": len(MINUTE), "numFailed": 0,
                     "numMaterializing": 0}  # 100% filled
    daily_keys, daily = _stats(webserver, "ohlcv_daily")
    assert daily_keys == set(DAY)  # the minute load added nothing to the day bars' set
    assert (daily["numMaterialized"], daily["numPartitions"]) == (len(DAY), len(DAY))
