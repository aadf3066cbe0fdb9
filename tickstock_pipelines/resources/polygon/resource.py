"""The Polygon resource: the real API with a key, the local sandbox without one; same client either way.

Nothing is read or started when the resource is imported or constructed, and `get_client()` reads no
environment variable: the definitions set the key, the API root, the budget and the Redis URL as
`EnvVar`s, so the UI shows which variable sets each (never the key's value) and a run uses exactly that.
An empty value means unset, and each field says what unset means. A literal string given as `api_key`
would be stored by Dagster as a config default in the job snapshot.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from tickstock_pipelines.resources.polygon.client import PolygonClient
from tickstock_pipelines.resources.polygon.ratelimit import (
    DEFAULT_IN_FLIGHT,
    DEFAULT_KEY,
    MAX_IN_FLIGHT,
    ROUND_TRIP_SECONDS,
    SharedRateLimiter,
    in_flight_for,
)


class PolygonResource(ConfigurableResource):
    """Polygon.io REST API, or the offline sandbox when no key is set (`client.sandbox` says which)."""

    api_key: str | None = Field(
        default=None, repr=False,
        description="EnvVar('POLYGON_API_KEY'); unset or empty → the offline sandbox")
    base_url: str | None = Field(
        default=None,
        description="API root, EnvVar('POLYGON_BASE_URL'); unset or empty → api.polygon.io with a key, "
                    "the local sandbox without one")
    requests_per_minute: str | None = Field(
        default=None, description="budget shared by every process, EnvVar('POLYGON_REQUESTS_PER_MINUTE'); "
                                  "unset or empty → 5 (the free plan) with a key, unthrottled in the sandbox")
    redis_url: str | None = Field(default=None, description="Redis holding the shared budget, "
                                                            "EnvVar('REDIS_URL'); unset or empty → embedded")
    timeout_seconds: float = Field(default=30.0, description="connect and read timeout of every request")
    max_retries: int = Field(default=5, description="retries after the first attempt on an error (5xx, "
                             "timeout, dropped connection); 429s spend none of them")
    rate_limited_max_seconds: float = Field(
        default=600.0, ge=0, description="longest one request keeps waiting out 429s (Retry-After, else "
                                         "backoff) before it fails")
    concurrency: int | None = Field(
        default=None, ge=1, le=MAX_IN_FLIGHT,
        description="requests a loader keeps in flight at once (the shared budget still sets the pace); "
                    f"unset → enough for the budget at a {ROUND_TRIP_SECONDS:g} s round trip, "
                    f"{DEFAULT_IN_FLIGHT} to {MAX_IN_FLIGHT} ({DEFAULT_IN_FLIGHT} on the free plan and the "
                    "unthrottled sandbox)")
    backoff_seconds: float = Field(default=1.0, description="first retry delay; doubles, with jitter")
    max_wait_seconds: float = Field(default=900.0, description="longest wait for the shared budget")
    budget_key: str = Field(default=DEFAULT_KEY, description="Redis key of the shared budget")

    def get_client(self) -> PolygonClient:
        """A new client (close it, or use it as a context manager); sandbox mode when there is no key."""
        import redis

        from tickstock_pipelines.resources.redis import resolve_redis_url
        from tickstock_pipelines.settings import DEFAULT_POLYGON_BASE_URL, load_settings, requests_per_minute

        sandbox = not self.api_key
        rpm = requests_per_minute(self.requests_per_minute, sandbox=sandbox)  # bad budget: fail before a call
        if sandbox:
            from tickstock_sandbox import SANDBOX_API_KEY, ensure_sandbox

            api_key = SANDBOX_API_KEY
            base_url = self.base_url or ensure_sandbox(load_settings().tickstock_home)
        else:
            api_key, base_url = str(self.api_key), (self.base_url or DEFAULT_POLYGON_BASE_URL).rstrip("/")
        redis_client = redis.Redis.from_url(resolve_redis_url(self.redis_url), socket_timeout=10,
                                            socket_connect_timeout=10)
        limiter = SharedRateLimiter(redis_client, rpm, key=self.budget_key,
                                    max_wait_seconds=self.max_wait_seconds)
        return PolygonClient(
            api_key=api_key, base_url=base_url, limiter=limiter, sandbox=sandbox,
            timeout_seconds=self.timeout_seconds, max_retries=self.max_retries,
            backoff_seconds=self.backoff_seconds, rate_limited_max_seconds=self.rate_limited_max_seconds,
            concurrency=self.concurrency or (in_flight_for(rpm) if self.requests_per_minute or not sandbox
                                             else DEFAULT_IN_FLIGHT),
        )
