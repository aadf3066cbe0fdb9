"""Dagster resources: the database, Redis and the Polygon API, each set by environment variables.

The definitions register `RESOURCES`, whose settings are `EnvVar`s, so the UI names the variable behind
each one (never the key's value) and a run gets exactly those values. Code outside a run (the CLI, the
dead-run reaper) takes the same resources through `in_force`, so both read the same variables.
"""

from __future__ import annotations

from typing import TypeVar

from dagster import ConfigurableResource, EnvVar

from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_pipelines.resources.redis import RedisResource
from tickstock_pipelines.settings import export_resource_environment

DATABASE = DatabaseResource(uri=EnvVar("DATABASE_URI"))
POLYGON = PolygonResource(api_key=EnvVar("POLYGON_API_KEY"), base_url=EnvVar("POLYGON_BASE_URL"),
                          requests_per_minute=EnvVar("POLYGON_REQUESTS_PER_MINUTE"),
                          redis_url=EnvVar("REDIS_URL"))
REDIS = RedisResource(url=EnvVar("REDIS_URL"))
RESOURCES: dict[str, ConfigurableResource] = {"database": DATABASE, "polygon": POLYGON, "redis": REDIS}

R = TypeVar("R", bound=ConfigurableResource)


def in_force(resource: R) -> R:
    """The resource with its EnvVars resolved now, as a run resolves them (an unset variable is empty)."""
    export_resource_environment()
    return resource.process_config_and_initialize()


__all__ = ["DATABASE", "POLYGON", "REDIS", "RESOURCES", "DatabaseResource", "PolygonResource",
           "RedisResource", "in_force"]
