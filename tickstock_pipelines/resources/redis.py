"""Redis as a Dagster resource (the definitions set it by EnvVar('REDIS_URL'); empty: the embedded server)."""

from __future__ import annotations

import redis
from dagster import ConfigurableResource
from pydantic import Field

from tickstock_pipelines import embedded
from tickstock_pipelines.settings import load_settings


def resolve_redis_url(url: str | None = None) -> str:
    """The given URL, else the embedded server under TICKSTOCK_HOME; no other variable is read."""
    return url or embedded.embedded_redis_url(load_settings().tickstock_home)


class RedisResource(ConfigurableResource):
    """Redis that receives cache and admin notifications; any redis-py URL, unix sockets included."""

    url: str | None = Field(default=None,
                            description="redis-py URL, EnvVar('REDIS_URL'); unset or empty → embedded")
    socket_timeout_seconds: float = 2.0

    def get_client(self) -> redis.Redis:
        return redis.Redis.from_url(
            resolve_redis_url(self.url),
            socket_timeout=self.socket_timeout_seconds,
            socket_connect_timeout=self.socket_timeout_seconds,
        )
