"""URLs as they may be shown: query parameters that carry a key are removed, so a log line or an error never
holds it."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_PARAMS = frozenset({"apikey", "api_key", "token", "access_token"})


def strip_api_key(url: str) -> str:
    """Real next_urls may carry apiKey=…; the key travels only in the header, so drop it."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in SECRET_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def safe_url(url: str, params: dict[str, Any] | None = None) -> str:
    """Path and non-secret parameters only: what logs and errors may show."""
    parts = urlsplit(strip_api_key(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query += [(k, str(v)) for k, v in (params or {}).items() if k.lower() not in SECRET_PARAMS]
    return parts.path + (f"?{urlencode(query)}" if query else "")
