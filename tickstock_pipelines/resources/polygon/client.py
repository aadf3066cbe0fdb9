"""One HTTP client owns the hard parts: budget, retries, pagination, validation and redaction."""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from tickstock_pipelines.redaction import redact
from tickstock_pipelines.resources.polygon.errors import PolygonError, PolygonResponseError
from tickstock_pipelines.resources.polygon.models import (
    AggsPage,
    GroupedBar,
    GroupedPage,
    Split,
    TickerDetails,
    TickerRef,
    parse_bar,
)
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter

log = logging.getLogger(__name__)
AGGS_LIMIT = 50_000
LIST_LIMIT = 1_000
_RETRY_STATUSES = {429, 500, 502, 503, 504}


def strip_api_key(url: str) -> str:
    """Real next_urls may carry apiKey=…; the key travels only in the header, so drop it."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "apikey"]
    return urlunsplit(parts._replace(query=urlencode(query)))


class PolygonClient:
    def __init__(
        self, *, api_key: str, base_url: str, limiter: SharedRateLimiter | None, sandbox: bool,
        timeout_seconds: float = 30.0, max_retries: int = 5, backoff_seconds: float = 1.0,
    ) -> None:
        self.sandbox = sandbox
        self.calls: Counter[str] = Counter()
        self._key = api_key
        self._base_url = base_url.rstrip("/")
        self._limiter = limiter
        self._timeout = timeout_seconds
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return f"PolygonClient(base_url={self._base_url!r}, sandbox={self.sandbox})"

    def close(self) -> None:
        self._session.close()

    # -- transport -------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _get(self, endpoint: str, url: str, params: dict[str, Any] | None, what: str) -> dict | None:
        """GET with budget and bounded retries; None means 404 (unknown ticker)."""
        url = strip_api_key(url)
        for attempt in range(self._max_retries + 1):
            if self._limiter is not None:
                self._limiter.acquire()
            self.calls[endpoint] += 1
            delay: float | None = None
            try:
                response = self._session.get(url, params=params, timeout=self._timeout)
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = f"{type(exc).__name__}"
            else:
                if response.status_code == 404:
                    return None
                if response.ok:
                    return self._json(response, what)
                problem = f"HTTP {response.status_code}"
                if response.status_code not in _RETRY_STATUSES:
                    detail = f"{endpoint} for {what}: {problem}: {response.text[:200]}"
                    raise PolygonError(self._redact(detail))
                retry_after = response.headers.get("Retry-After")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    delay = float(retry_after)
            if attempt == self._max_retries:
                detail = f"{endpoint} for {what}: {problem} after {attempt + 1} tries"
                raise PolygonError(self._redact(detail))
            delay = delay if delay is not None else self._backoff * 2**attempt * (0.5 + random.random())
            log.warning("%s for %s: %s; retry %d in %.2fs", endpoint, what, problem, attempt + 1, delay)
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _json(self, response: requests.Response, what: str) -> dict:
        try:
            body = response.json()
        except (json.JSONDecodeError, ValueError) as exc:
            raise PolygonResponseError(self._redact(f"malformed JSON for {what}: {exc}")) from None
        if not isinstance(body, dict):
            raise PolygonResponseError(f"unexpected body for {what}: {type(body).__name__}")
        return body

    def _pages(self, endpoint: str, path: str, params: dict[str, Any], what: str) -> Iterator[list[dict]]:
        url: str | None = f"{self._base_url}{path}"
        while url:
            body = self._get(endpoint, url, params, what)
            if body is None:
                return
            results = body.get("results", [])
            if not isinstance(results, list):
                raise PolygonResponseError(f"'results' is not a list for {what}")
            yield results
            url, params = body.get("next_url"), None  # next_url carries every parameter

    # -- endpoints -------------------------------------------------------------------------------
    def list_tickers(self, *, market: str = "stocks", ticker_type: str | None = None,
                     active: bool = True) -> Iterator[TickerRef]:
        params: dict[str, Any] = {"market": market, "active": str(active).lower(), "limit": LIST_LIMIT}
        if ticker_type:
            params["type"] = ticker_type
        for page in self._pages("tickers", "/v3/reference/tickers", params, f"tickers {ticker_type or ''}"):
            for raw in page:
                yield self._model(TickerRef, raw, raw.get("ticker", "?"))

    def ticker_details(self, ticker: str) -> TickerDetails | None:
        body = self._get("ticker_details", f"{self._base_url}/v3/reference/tickers/{ticker}", None, ticker)
        if body is None:
            return None
        return self._model(TickerDetails, body.get("results"), ticker)

    def aggregates(self, ticker: str, timespan: Literal["day", "minute"], start: date, end: date,
                   *, adjusted: bool = True) -> Iterator[AggsPage]:
        path = f"/v2/aggs/ticker/{ticker}/range/1/{timespan}/{start.isoformat()}/{end.isoformat()}"
        params = {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": AGGS_LIMIT}
        for raw_bars in self._pages("aggs", path, params, ticker):
            page = AggsPage()
            for raw in raw_bars:
                parsed = parse_bar(raw, ticker)
                (page.rejected if hasattr(parsed, "reason") else page.bars).append(parsed)
            yield page

    def grouped_daily(self, session: date, *, adjusted: bool = True) -> GroupedPage:
        path = f"/v2/aggs/grouped/locale/us/market/stocks/{session.isoformat()}"
        page = GroupedPage()
        for raw_bars in self._pages("grouped_daily", path, {"adjusted": str(adjusted).lower()},
                                    f"grouped {session}"):
            for raw in raw_bars:
                parsed = parse_bar(raw, str(raw.get("T", "?")))
                (page.bars if isinstance(parsed, GroupedBar) else page.rejected).append(parsed)
        return page

    def splits(self, *, ticker: str | None = None, execution_date_gte: date | None = None) -> Iterator[Split]:
        params: dict[str, Any] = {"limit": LIST_LIMIT}
        if ticker:
            params["ticker"] = ticker
        if execution_date_gte:
            params["execution_date.gte"] = execution_date_gte.isoformat()
        for page in self._pages("splits", "/v3/reference/splits", params, f"splits {ticker or ''}"):
            for raw in page:
                yield self._model(Split, raw, raw.get("ticker", "?"))

    def _model(self, model: type, raw: Any, ticker: str):
        try:
            return model.model_validate(raw)
        except ValueError as exc:  # pydantic's ValidationError: one line naming the ticker
            first_line = f"malformed {model.__name__} for {ticker}: {exc}".splitlines()[0]
            raise PolygonResponseError(first_line) from None
