"""The Polygon.io REST client and its Dagster resource (the same code runs against the sandbox)."""

from tickstock_pipelines.resources.polygon.client import PolygonClient
from tickstock_pipelines.resources.polygon.errors import PolygonError, PolygonResponseError
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter
from tickstock_pipelines.resources.polygon.resource import PolygonResource

__all__ = ["PolygonClient", "PolygonError", "PolygonResource", "PolygonResponseError", "SharedRateLimiter"]
