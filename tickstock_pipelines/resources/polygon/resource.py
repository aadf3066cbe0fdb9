"""The Polygon resource: the real API with a key, the local sandbox without one; same client either way."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from tickstock_pipelines.resources.polygon.client import PolygonClient
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter
from tickstock_pipelines.resources.redis import resolve_redis_url
from tickstock_pipelines.settings import load_settings


class PolygonResource(ConfigurableResource):
    """Polygon.io REST API. The key is read from POLYGON_API_KEY at run time, never stored in run config."""

    base_url: str | None = Field(default=None, description="API root; unset → POLYGON_BASE_URL")
    requests_per_minute: float | None = Field(
        default=None, description="budget shared by every process; unset → POLYGON_REQUESTS_PER_MINUTE")
    redis_url: str | None = Field(default=None, description="Redis holding the shared budget")
    timeout_seconds: float = 30.0
    max_retries: int = 5

    def get_client(self) -> PolygonClient:
        import redis

        from tickstock_pipelines.sandbox import SANDBOX_API_KEY, ensure_sandbox

        settings = load_settings()
        sandbox = settings.sandbox
        base_url = self.base_url or (ensure_sandbox(settings.tickstock_home) if sandbox
                                     else settings.polygon_base_url)
        limiter = SharedRateLimiter(
            redis.Redis.from_url(resolve_redis_url(self.redis_url)),
            self.requests_per_minute or settings.requests_per_minute,
        )
        return PolygonClient(
            api_key=SANDBOX_API_KEY if sandbox else str(settings.polygon_api_key),
            base_url=base_url, limiter=limiter, sandbox=sandbox,
            timeout_seconds=self.timeout_seconds, max_retries=self.max_retries,
        )
