"""How the sandbox reads a request as Polygon does: routes, request ids, cursors, query filters and pages."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tickstock_pipelines.market_calendar import end_of_day_ms, midnight_ms
from tickstock_sandbox.universe import Security

TICKERS = "/v3/reference/tickers"
DETAILS = "/v3/reference/tickers/{ticker}"
AGGS = "/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}"
GROUPED = "/v2/aggs/grouped/locale/us/market/stocks/{date}"
SPLITS = "/v3/reference/splits"
ROUTES = [
    (re.compile(r"^/v3/reference/tickers/?$"), TICKERS),
    (re.compile(r"^/v3/reference/tickers/(?P<ticker>[^/]+)$"), DETAILS),
    (re.compile(r"^/v2/aggs/ticker/(?P<ticker>[^/]+)/range/(?P<multiplier>[^/]+)/(?P<timespan>[^/]+)"
                r"/(?P<start>[^/]+)/(?P<end>[^/]+)$"), AGGS),
    (re.compile(r"^/v2/aggs/grouped/locale/us/market/stocks/(?P<date>[^/]+)$"), GROUPED),
    (re.compile(r"^/v3/reference/splits/?$"), SPLITS),
]


class BadRequest(ValueError):
    pass


def request_id() -> str:
    return uuid.uuid4().hex


def route(path: str) -> tuple[str | None, dict[str, str]]:
    """(endpoint template, path parameters), or (None, {}) for an unknown path."""
    for pattern, template in ROUTES:
        if match := pattern.match(path):
            return template, match.groupdict()
    return None, {}


def encode_cursor(params: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(urlencode(params).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Invalid cursor") from None
    return dict(parse_qsl(raw))


def int_param(params: dict[str, str], name: str, default: int, maximum: int) -> int:
    try:
        value = int(params.get(name, default))
    except ValueError:
        raise BadRequest(f"Invalid value for '{name}'") from None
    return max(1, min(value, maximum))


def time_bound(text: str, name: str, end: bool) -> int:
    """YYYY-MM-DD (the whole New York day) or a Unix millisecond timestamp."""
    if text.isdigit():
        return int(text)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest(f"Could not parse the time parameter: '{name}'. "
                         "Use YYYY-MM-DD or Unix MS Timestamps") from None
    return end_of_day_ms(day) if end else midnight_ms(day)


def compare(value: str, params: dict[str, str], name: str) -> bool:
    checks = {"": lambda a, b: a == b, ".gte": lambda a, b: a >= b, ".gt": lambda a, b: a > b,
              ".lte": lambda a, b: a <= b, ".lt": lambda a, b: a < b}
    return all(check(value, params[name + suffix])
               for suffix, check in checks.items() if name + suffix in params)


def ticker_matches(security: Security, params: dict[str, str]) -> bool:
    if params.get("market", "stocks") != "stocks" or params.get("locale", "us") != "us":
        return False
    if "type" in params and security.type != params["type"]:
        return False
    if str(security.active).lower() != params.get("active", "true").lower():
        return False
    if "exchange" in params and security.primary_exchange != params["exchange"]:
        return False
    if "cik" in params and (security.cik or "").lstrip("0") != params["cik"].lstrip("0"):
        return False
    if "search" in params:
        needle = params["search"].lower()
        if needle not in security.ticker.lower() and needle not in security.name.lower():
            return False
    return compare(security.ticker, params, "ticker")


def split_matches(item: dict[str, Any], params: dict[str, str]) -> bool:
    if "ticker" in params and item["ticker"] != params["ticker"]:
        return False
    if "reverse_split" in params:
        reverse = item["split_from"] > item["split_to"]
        if reverse != (params["reverse_split"].lower() == "true"):
            return False
    return compare(item["execution_date"], params, "execution_date")


def paged(rows: list[dict], offset: int, limit: int, params: dict[str, str], url: str) -> dict[str, Any]:
    page = rows[offset:offset + limit]
    body: dict[str, Any] = {}
    if page:
        body["results"] = page
    body |= {"status": "OK", "request_id": request_id(), "count": len(page)}
    if offset + limit < len(rows):
        body["next_url"] = f"{url}?cursor={encode_cursor({**params, 'offset': offset + limit})}"
    return body
