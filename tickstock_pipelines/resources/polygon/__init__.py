"""The Polygon.io REST client and its Dagster resource (the same code runs against the sandbox)."""

from tickstock_pipelines.resources.polygon.client import AGGS_LIMIT, LIST_LIMIT, PolygonClient
from tickstock_pipelines.resources.polygon.errors import (
    BudgetWaitTimeout,
    PolygonError,
    PolygonHTTPError,
    PolygonResponseError,
    PolygonRetriesExhausted,
)
from tickstock_pipelines.resources.polygon.models import (
    AggsPage,
    Bar,
    GroupedBar,
    GroupedPage,
    InvalidBar,
    Split,
    TickerDetails,
    TickerRef,
)
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter
from tickstock_pipelines.resources.polygon.resource import PolygonResource

__all__ = [
    "AGGS_LIMIT", "LIST_LIMIT", "AggsPage", "Bar", "BudgetWaitTimeout", "GroupedBar", "GroupedPage",
    "InvalidBar", "PolygonClient", "PolygonError", "PolygonHTTPError", "PolygonResource",
    "PolygonResponseError", "PolygonRetriesExhausted", "SharedRateLimiter", "Split", "TickerDetails",
    "TickerRef",
]
