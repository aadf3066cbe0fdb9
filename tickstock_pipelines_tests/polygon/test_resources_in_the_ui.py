"""What the UI shows for each resource is what a run uses: every setting a deployment changes is an EnvVar
the resource page names (never the key's value), and a run of the definitions gets those variables'
values. Real webserver over GraphQL, real materialization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import EnvVar, asset, materialize

from tickstock_pipelines.definitions import defs
from tickstock_pipelines.resources import DatabaseResource, PolygonResource, RedisResource
from tickstock_pipelines.settings import normalise_postgres_uri
from tickstock_pipelines_tests.support.fake_polygon import CANARY
from tickstock_pipelines_tests.support.services import create_database
from tickstock_pipelines_tests.support.webserver import graphql, running_webserver

RESOURCE_QUERY = """
query Resource($selector: ResourceSelector!) {
  topLevelResourceDetailsOrError(resourceSelector: $selector) {
    __typename
    ... on ResourceDetails { name configuredValues { key value type } }
  }
}
"""
# The settings a deployment changes, by resource: field → the variable that sets it.
VARIABLES = {
    "database": {"uri": "DATABASE_URI"},
    "polygon": {"api_key": "POLYGON_API_KEY", "base_url": "POLYGON_BASE_URL",
                "requests_per_minute": "POLYGON_REQUESTS_PER_MINUTE", "redis_url": "REDIS_URL"},
    "redis": {"url": "REDIS_URL"},
}


def test_the_resource_pages_name_the_variables_in_force_and_never_the_key(
        pg_template_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "123")
    storage = create_database(pg_template_uri, "resources_ui_dagster")
    with running_webserver(tmp_path / "home", storage, storage) as base_url:
        shown = {}
        for name in VARIABLES:
            selector = {"repositoryLocationName": "tickstock_pipelines", "repositoryName": "__repository__",
                        "resourceName": name}
            answer = graphql(base_url, RESOURCE_QUERY, {"selector": selector})
            details = answer["topLevelResourceDetailsOrError"]
            assert details["__typename"] == "ResourceDetails", details
            shown[name] = {v["key"]: (v["type"], v["value"]) for v in details["configuredValues"]}
    for name, variables in VARIABLES.items():
        assert {k: shown[name][k] for k in variables} == {k: ("ENV_VAR", v) for k, v in variables.items()}
    assert CANARY not in json.dumps(shown)


def test_a_run_of_the_definitions_uses_the_values_of_the_variables_named(
        redis_url: str, database_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    resources = defs.resources
    for name, variables in VARIABLES.items():  # the same fields the page names, set the same way
        assert {f: getattr(resources[name], f) for f in variables} == {f: EnvVar(v)
                                                                      for f, v in variables.items()}
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    monkeypatch.setenv("POLYGON_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "123")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("DATABASE_URI", database_uri)
    seen: dict[str, object] = {}

    @asset
    def probe(polygon: PolygonResource, database: DatabaseResource, redis: RedisResource) -> None:
        with polygon.get_client() as client:
            seen.update(base_url=client.base_url, sandbox=client.sandbox, budget=client.budget_per_minute)
        seen.update(database=database.get_uri(), redis=redis.get_client().ping())

    assert materialize([probe], resources=resources).success
    assert seen == {"base_url": "http://127.0.0.1:9", "sandbox": False, "budget": 123.0,
                    "database": normalise_postgres_uri(database_uri), "redis": True}
