"""Errors the Polygon client raises; their text is always redacted."""


class PolygonError(RuntimeError):
    """Base class: a request failed for good (after retries where retrying made sense)."""


class PolygonResponseError(PolygonError):
    """The body was not what Polygon documents (not JSON, truncated, wrong types)."""
