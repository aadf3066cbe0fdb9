"""Errors the Polygon client raises. Their text is always redacted before they are built, and they are
raised `from None`, so no requests exception (which embeds URLs) rides along as their cause."""

from __future__ import annotations


class PolygonError(RuntimeError):
    """Base class: a request failed for good (after retries where retrying made sense)."""

    def __init__(self, message: str, *, endpoint: str | None = None, ticker: str | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.ticker = ticker
        self.status = status


class PolygonHTTPError(PolygonError):
    """A 4xx other than an unknown ticker: retrying cannot help (bad key, plan, parameters)."""


class PolygonRetriesExhausted(PolygonError):
    """429, 5xx, timeouts or connection errors persisted through every allowed retry."""


class PolygonResponseError(PolygonError):
    """The body was not what Polygon documents (not JSON, truncated, wrong types)."""


class BudgetWaitTimeout(PolygonError):
    """The shared request budget would make this request wait longer than allowed."""
