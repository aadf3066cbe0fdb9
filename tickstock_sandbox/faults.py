"""What an injected fault sends instead of (or on top of) the real response."""

from __future__ import annotations

from typing import Any

from tickstock_sandbox.api import RATE_LIMIT_MESSAGE
from tickstock_sandbox.config import FaultRule
from tickstock_sandbox.query import request_id

_GATEWAY_PAGES = {
    "502": "502 Bad Gateway", "503": "503 Service Temporarily Unavailable", "504": "504 Gateway Time-out",
}


def error_reply(rule: FaultRule) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for the status-code faults; gateways answer in HTML, as a proxy would."""
    headers = {"Content-Type": "application/json"}
    if rule.kind == "429":
        if rule.retry_after is not None:
            headers["Retry-After"] = f"{rule.retry_after:g}"
        return 429, rate_limited_body(), headers
    if rule.kind in _GATEWAY_PAGES:
        title = _GATEWAY_PAGES[rule.kind]
        page = (f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n")
        return int(rule.kind), page.encode(), {"Content-Type": "text/html"}
    body = f'{{"status":"ERROR","request_id":"{request_id()}","error":"Internal server error"}}'
    return 500, body.encode(), headers


def rate_limited_body() -> bytes:
    return f'{{"status":"ERROR","request_id":"{request_id()}","error":"{RATE_LIMIT_MESSAGE}"}}'.encode()


def malformed_body() -> bytes:
    return f'{{"status":"OK","request_id":"{request_id()}","results":[{{"T":"AAPL",,"v":}}]'.encode()


def truncate(body: bytes) -> bytes:
    return body[: max(1, len(body) // 2)]


def corrupt_bars(body: dict[str, Any], rule: FaultRule) -> bool:
    """Break one bar (the middle one of the ticker's bars) the way `rule.invalid` says; the cached
    rows are never touched: the page gets a new list with a modified copy."""
    results = body.get("results")
    if not results:
        return False
    wanted = rule.ticker.upper() if rule.ticker else None
    positions = [i for i, r in enumerate(results)
                 if wanted is None or r.get("T", body.get("ticker")) == wanted]
    if not positions:
        return False
    position = positions[len(positions) // 2]
    bar = dict(results[position])
    if rule.invalid == "high_lt_low":
        bar["h"] = round(bar["l"] * 0.98, 4)
    elif rule.invalid == "negative_volume":
        bar["v"] = -abs(bar["v"]) - 100
    elif rule.invalid == "nan":
        bar["c"] = float("nan")
    else:  # open_outside
        bar["o"] = round(bar["h"] * 1.05, 4)
    body["results"] = [*results[:position], bar, *results[position + 1:]]
    return True
