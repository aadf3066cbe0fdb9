"""One HTTP client owns the hard parts: budget, retries, pagination, validation and redaction.

The key is set once as `Authorization: Bearer` on the session and never put in a URL; every message
that leaves this module (exception, log line, repr) is built from sanitised URLs and redacted.
A client is meant for one thread; give each worker thread its own (they share the Redis budget).
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Container, Iterator
from datetime import date
from typing import Any, Literal, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ValidationError

from tickstock_pipelines.redaction import redact
from tickstock_pipelines.resources.polygon.errors import (
    PolygonError,
    PolygonHTTPError,
    PolygonResponseError,
)
from tickstock_pipelines.resources.polygon.models import (
    AggsPage,
    Bar,
    GroupedPage,
    Split,
    TickerDetails,
    TickerRef,
    parse_bar,
)
from tickstock_pipelines.resources.polygon.models import ticker_of as _ticker_of
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter
from tickstock_pipelines.resources.polygon.retry import (
    RETRY_STATUSES,
    TRANSIENT_ERRORS,
    RetryPolicy,
    Tally,
    TransientFault,
    retry_after_seconds,
)
from tickstock_pipelines.resources.polygon.urls import safe_url, strip_api_key
from tickstock_pipelines.resources.polygon.wire import decode, sort_bars

log = logging.getLogger(__name__)

AGGS_LIMIT = 50_000
LIST_LIMIT = 1_000
Model = TypeVar("Model", bound=BaseModel)
Decode = Callable[[bytes], "dict[str, Any] | None"]  # a body's fast decoder; None: the generic path decides


class PolygonClient:
    """Polygon REST endpoints the pipelines use. `calls` counts requests sent per endpoint, retries too.

    Use it plainly (`client.close()` at the end) or as a context manager.
    """

    def __init__(
        self, *, api_key: str, base_url: str, limiter: SharedRateLimiter | None, sandbox: bool,
        timeout_seconds: float = 30.0, max_retries: int = 5, backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 60.0, rate_limited_max_seconds: float = 600.0, concurrency: int = 1,
    ) -> None:
        if not api_key:
            raise ValueError("PolygonClient needs an API key (the sandbox's key in sandbox mode)")
        if rate_limited_max_seconds < 0:
            raise ValueError(f"rate_limited_max_seconds must be ≥ 0, not {rate_limited_max_seconds:g}")
        self.sandbox = sandbox
        self.calls: Counter[str] = Counter()
        self.concurrency = max(1, concurrency)  # requests the loaders may keep in flight at once
        self._calls_lock = threading.Lock()
        self.base_url = base_url.rstrip("/")
        self._key = api_key
        self._limiter = limiter
        self._timeout = timeout_seconds
        self._policy = RetryPolicy(max_retries, backoff_seconds, max_backoff_seconds,
                                   rate_limited_max_seconds)
        self._retrying = self._policy.retrying()
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._session.headers["Accept"] = "application/json"

    def __repr__(self) -> str:
        return f"PolygonClient(base_url={self.base_url!r}, sandbox={self.sandbox})"

    __str__ = __repr__

    @property
    def budget_per_minute(self) -> float | None:
        """The shared request budget (None without a limiter): what batch sizes are planned against."""
        return self._limiter.requests_per_minute if self._limiter is not None else None

    def __enter__(self) -> PolygonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection and record the last answers in the shared budget."""
        self._session.close()
        if self._limiter is not None:
            try:
                self._limiter.flush()
            except PolygonError as exc:  # the bookings then lapse after their lease: safe, only slower
                log.warning("%s", exc)

    # -- endpoints -------------------------------------------------------------------------------
    def list_tickers(self, *, market: str = "stocks", ticker_type: str | None = None,
                     active: bool = True, ticker: str | None = None) -> Iterator[TickerRef]:
        """Every ticker matching the filters, page after page (1000 a page); `ticker` asks for one
        (with active=False: is it a delisted ticker the API still lists?)."""
        params: dict[str, Any] = {"market": market, "active": str(active).lower(), "limit": LIST_LIMIT}
        if ticker_type:
            params["type"] = ticker_type
        if ticker:
            params["ticker"] = ticker
        what = ticker or f"{market} {ticker_type or 'tickers'}"
        for page in self._pages("tickers", "/v3/reference/tickers", params, what):
            for raw in page:
                yield self._model(TickerRef, raw, "tickers", _ticker_of(raw, what))

    def ticker_details(self, ticker: str) -> TickerDetails | None:
        """Details of one ticker; None when Polygon does not know it (404, never retried)."""
        path = f"/v3/reference/tickers/{quote(ticker, safe='')}"
        body = self._get("ticker_details", self.base_url + path, None, ticker, allow_404=True)
        if body is None:
            return None
        results = body.get("results")
        if not isinstance(results, dict):
            raise PolygonResponseError(f"ticker_details {path} for {ticker}: no 'results' object in the body",
                                       endpoint="ticker_details", ticker=ticker)
        return self._model(TickerDetails, results, "ticker_details", ticker)

    def aggregates(self, ticker: str, timespan: Literal["day", "minute"], start: date, end: date,
                   *, adjusted: bool = True) -> Iterator[AggsPage]:
        """Bars from `start` to `end` inclusive, one page at a time (memory stays flat).

        Each page holds the valid bars and the rejected ones (ticker, New York date, reason).
        """
        if timespan not in ("day", "minute"):
            raise ValueError(f"timespan must be 'day' or 'minute', not {timespan!r}")
        path = (f"/v2/aggs/ticker/{quote(ticker, safe='')}/range/1/{timespan}/"
                f"{start.isoformat()}/{end.isoformat()}")
        params = {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": AGGS_LIMIT}
        for raw_bars in self._pages("aggs", path, params, ticker):
            page = AggsPage()
            for raw in raw_bars:
                parsed = parse_bar(raw, ticker, Bar)
                if isinstance(parsed, Bar):
                    page.bars.append(parsed)
                else:
                    page.rejected.append(parsed)
            yield page

    def grouped_daily(self, session: date, *, adjusted: bool = True,
                      tickers: Container[str] | None = None) -> GroupedPage:
        """Every US stock's bar for one session (~10k bars, decoded in C: wire.py); only `tickers`'
        validated when given."""
        path = f"/v2/aggs/grouped/locale/us/market/stocks/{session.isoformat()}"
        page, params = GroupedPage(), {"adjusted": str(adjusted).lower()}
        for raw_bars in self._pages("grouped_daily", path, params, f"grouped daily {session}", decode):
            sort_bars(raw_bars, tickers, page)
        return page

    def splits(self, *, ticker: str | None = None, execution_date_gte: date | None = None) -> Iterator[Split]:
        """Splits, newest first as Polygon sorts them, optionally for one ticker / since a date."""
        params: dict[str, Any] = {"limit": LIST_LIMIT}
        if ticker:
            params["ticker"] = ticker
        if execution_date_gte:
            params["execution_date.gte"] = execution_date_gte.isoformat()
        what = ticker or "all tickers"
        for page in self._pages("splits", "/v3/reference/splits", params, what):
            for raw in page:
                yield self._model(Split, raw, "splits", _ticker_of(raw, what))

    # -- pagination and parsing ------------------------------------------------------------------
    def _pages(self, endpoint: str, path: str, params: dict[str, Any], what: str,
               fast: Decode | None = None) -> Iterator[list[Any]]:
        """`results` of each page, following the absolute next_url (which carries every parameter)."""
        url: str | None = self.base_url + path
        while url:
            body = self._get(endpoint, url, params, what, fast=fast)
            assert body is not None  # only ticker_details allows a 404
            results = body.get("results")
            if results is None:
                results = []  # Polygon omits `results` when a page is empty
            if not isinstance(results, list):
                raise PolygonResponseError(
                    f"{endpoint} {safe_url(url, params)} for {what}: 'results' is a "
                    f"{type(results).__name__}, not a list", endpoint=endpoint, ticker=what)
            yield results
            next_url = body.get("next_url")
            if next_url is not None and not isinstance(next_url, str):
                raise PolygonResponseError(f"{endpoint} for {what}: next_url is not a string",
                                           endpoint=endpoint, ticker=what)
            url, params = (self._follow(next_url) if next_url else None), {}

    def _follow(self, next_url: str) -> str:
        """next_url without any apiKey, on our own base URL's host: the bearer key goes nowhere else."""
        base, nxt = urlsplit(self.base_url), urlsplit(strip_api_key(next_url))
        if (nxt.scheme, nxt.netloc) != (base.scheme, base.netloc):
            log.debug("next_url on another host; following its path on %s", base.netloc)
            nxt = nxt._replace(scheme=base.scheme, netloc=base.netloc)
        return urlunsplit(nxt)

    def _model(self, model: type[Model], raw: Any, endpoint: str, ticker: str) -> Model:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
                                 for e in exc.errors(include_url=False, include_input=False))
            message = self._redact(f"{endpoint}: malformed {model.__name__} for {ticker}: {problems}")
            raise PolygonResponseError(message, endpoint=endpoint, ticker=ticker) from None

    # -- transport -------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return redact(text, self._key)

    def _get(self, endpoint: str, url: str, params: dict[str, Any] | None, what: str,
             *, allow_404: bool = False, fast: Decode | None = None) -> dict[str, Any] | None:
        """GET within the budget and the retry policy (retry.py); None only for an allowed 404."""
        url = strip_api_key(url)
        tally = Tally(endpoint, self._redact(f"{endpoint} {safe_url(url, params)} for {what}"), what)
        try:
            return self._retrying(self._attempt, tally, url, params, allow_404, fast)
        except TransientFault as fault:
            raise self._policy.exhausted(fault, self._redact) from None

    def _attempt(self, tally: Tally, url: str, params: dict[str, Any] | None,
                 allow_404: bool, fast: Decode | None = None) -> dict[str, Any] | None:
        """One request: its answer, or TransientFault when another attempt may go better."""
        slot = self._limiter.acquire() if self._limiter is not None else None
        if slot is not None and slot.waited > 1:
            log.debug("waited %.1fs for the request budget before %s", slot.waited, tally.shown)
        with self._calls_lock:  # loaders call from several threads
            self.calls[tally.endpoint] += 1
        log.debug("GET %s (attempt %d)", tally.shown, tally.attempts + 1)
        try:
            response = self._session.get(url, params=params or None, timeout=self._timeout)
            content = response.content
        except TRANSIENT_ERRORS as exc:
            raise TransientFault(type(exc).__name__, tally) from None
        except requests.RequestException as exc:
            message = self._redact(f"{tally.shown}: {type(exc).__name__}: {exc}")
            raise PolygonError(message, endpoint=tally.endpoint, ticker=tally.what) from None
        finally:
            if slot is not None:
                self._limiter.release(slot)  # type: ignore[union-attr]
        status = response.status_code
        if status == 404 and allow_404:
            log.info("%s: %s is unknown to Polygon (404)", tally.endpoint, tally.what)
            return None
        if 200 <= status < 300:
            return (fast and fast(content)) or self._json(content, tally)
        excerpt = _excerpt(response)
        if status not in RETRY_STATUSES:
            detail = self._redact(f"{tally.shown}: HTTP {status}: {excerpt}")
            raise PolygonHTTPError(detail, endpoint=tally.endpoint, ticker=tally.what, status=status)
        raise TransientFault(f"HTTP {status}", tally, status=status, said=excerpt,
                             retry_after=retry_after_seconds(response.headers.get("Retry-After")))

    def _json(self, content: bytes, tally: Tally) -> dict[str, Any]:
        """The body as an object. One that does not parse (cut short, garbled) is a transient fault; one
        that parses but is not an object is what the server meant to send, and fails at once."""
        try:
            body = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            problem = f"malformed JSON ({type(exc).__name__}: {exc}; {len(content)} bytes)"
            raise TransientFault(self._redact(problem), tally, body=True) from None
        if not isinstance(body, dict):
            raise PolygonResponseError(f"{tally.shown}: body is a {type(body).__name__}, not an object",
                                       endpoint=tally.endpoint, ticker=tally.what)
        return body


def _excerpt(response: requests.Response) -> str:
    """Polygon's own error message when it sent one, else the start of the body."""
    try:
        body = response.json()
        if isinstance(body, dict):
            message = body.get("error") or body.get("message")
            if message:
                return str(message)[:200]
    except ValueError:
        pass
    return " ".join(response.text[:200].split())
