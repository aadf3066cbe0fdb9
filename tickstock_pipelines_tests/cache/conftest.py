"""The cache_entries rebuild: families, configuration, the atomic commit and the cache assets."""

from __future__ import annotations

import dagster as dg
import pytest

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines_tests.support.cache_fixtures import add_entry, insert, sample_universe


@pytest.fixture
def resources(database_uri: str, redis_url: str) -> dict:
    """The sample universe loaded, one app setting to keep, and resources pointed at both services."""
    insert(database_uri, sample_universe())
    add_entry(database_uri, "app_settings", "ui", "theme", '{"dark": true}')
    return {"database": DatabaseResource(uri=database_uri), "redis": RedisResource(url=redis_url)}


@pytest.fixture
def instance():
    """A throwaway Dagster instance."""
    with dg.instance_for_test() as instance:
        yield instance

