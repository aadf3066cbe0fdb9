"""One HTTP client owns the hard parts: budget, retries, pagination, validation and redaction.

The key is set once as `Authorization: Bearer` on the session and never put in a URL; every message
that leaves this module (exception, log line, repr) is built from sanitised URLs and redacted.
A client is meant for one thread; give each worker thread its own (they share the Redis budget).
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from pydantic import BaseModel, ValidationError

from tickstock_pipelines.redaction import redact
from tickstock_pipelines.resources.polygon.errors import (
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
    Split,
    TickerDetails,
    TickerRef,
    parse_bar,
)
from tickstock_pipelines.resources.polygon.ratelimit import SharedRateLimiter

log = logging.getLogger(__name__)

AGGS_LIMIT = 50_000
LIST_LIMIT = 1_000
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A dropped connection mid-body surfaces as ChunkedEncodingError, not ConnectionError: also transient.
TRANSIENT_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
_SECRET_PARAMS = frozenset({"apikey", "api_key", "token", "access_token"})
Model = TypeVar("Model", bound=BaseModel)


def strip_api_key(url: str) -> str:
    """Real next_urls may carry apiKey=…; the key travels only in the header, so drop it."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k.lower() not in _SECRET_PARAMS]
    return urlunsplit(parts._replace(query=urlencode(query)))


def safe_url(url: str, params: dict[str, Any] | None = None) -> str:
    """Path and non-secret parameters only: what logs and errors may show."""
    parts = urlsplit(strip_api_key(url))
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query += [(k, str(v)) for k, v in (params or {}).items() if k.lower() not in _SECRET_PARAMS]
    return parts.path + (f"?{urlencode(query)}" if query else "")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (delta-seconds or an HTTP date), None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


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
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._rate_limited_max = rate_limited_max_seconds
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

    @property
    def _base_url(self) -> str:  # the name older tests read
        return self.base_url

    def __enter__(self) -> PolygonClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

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

    def grouped_daily(self, session: date, *, adjusted: bool = True) -> GroupedPage:
        """Every US stock's bar for one session (one request, usually ~10k bars)."""
        path = f"/v2/aggs/grouped/locale/us/market/stocks/{session.isoformat()}"
        page = GroupedPage()
        params = {"adjusted": str(adjusted).lower()}
        for raw_bars in self._pages("grouped_daily", path, params, f"grouped daily {session}"):
            for raw in raw_bars:
                parsed = parse_bar(raw, _ticker_of(raw, "?"), GroupedBar)
                if isinstance(parsed, GroupedBar):
                    page.bars.append(parsed)
                else:
                    page.rejected.append(parsed)
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
    def _pages(self, endpoint: str, path: str, params: dict[str, Any], what: str) -> Iterator[list[Any]]:
        """`results` of each page, following the absolute next_url (which carries every parameter)."""
        url: str | None = self.base_url + path
        while url:
            body = self._get(endpoint, url, params, what)
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
             *, allow_404: bool = False) -> dict[str, Any] | None:
        """GET within the budget; None only for an allowed 404 (unknown ticker).

        Errors (5xx, timeouts, dropped connections) get `max_retries` retries. A 429 is Polygon telling us
        to wait, not an error: it spends none of them and is bounded by time instead, at most
        `rate_limited_max_seconds` from the request's first 429, waiting Retry-After when given.
        """
        url = strip_api_key(url)
        shown = self._redact(safe_url(url, params))
        problem, last_said = "no attempt", ""
        errors = limited = 0  # failed attempts of each kind so far
        limited_since: float | None = None
        while True:
            if self._limiter is not None:
                waited = self._limiter.acquire()
                if waited > 1:
                    log.debug("waited %.1fs for the request budget before %s", waited, shown)
            with self._calls_lock:  # loaders call from several threads
                self.calls[endpoint] += 1
            log.debug("GET %s (%s for %s, attempt %d)", shown, endpoint, what, errors + limited + 1)
            delay: float | None = None
            try:
                response = self._session.get(url, params=params or None, timeout=self._timeout)
            except TRANSIENT_ERRORS as exc:
                problem, last_said = type(exc).__name__, ""
            except requests.RequestException as exc:
                message = self._redact(f"{endpoint} {shown} for {what}: {type(exc).__name__}: {exc}")
                raise PolygonError(message, endpoint=endpoint, ticker=what) from None
            else:
                status = response.status_code
                if status == 404 and allow_404:
                    log.info("%s: %s is unknown to Polygon (404)", endpoint, what)
                    return None
                if 200 <= status < 300:
                    return self._json(response, endpoint, shown, what)
                problem, excerpt = f"HTTP {status}", _excerpt(response)
                if status not in RETRY_STATUSES:
                    detail = self._redact(f"{endpoint} {shown} for {what}: {problem}: {excerpt}")
                    raise PolygonHTTPError(detail, endpoint=endpoint, ticker=what, status=status)
                last_said = excerpt
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                if status == 429:
                    limited += 1
                    now = time.monotonic()
                    limited_since = now if limited_since is None else limited_since
                    self._wait_out_429(endpoint, shown, what, limited, now - limited_since, delay, excerpt)
                    continue
            errors += 1
            if errors > self._max_retries:
                break
            delay = min(delay, self._max_backoff) if delay is not None else self._backoff_delay(errors)
            log.warning("%s %s for %s: %s; retry %d of %d in %.2fs", endpoint, shown, what, problem,
                        errors, self._max_retries, delay)
            time.sleep(delay)
        said = f" (last answer: {last_said})" if last_said else ""
        of_them = f" ({limited} of them answered 429)" if limited else ""
        message = f"{endpoint} {shown} for {what}: {problem} after {errors + limited} attempts{of_them}{said}"
        raise PolygonRetriesExhausted(self._redact(message), endpoint=endpoint, ticker=what)

    def _backoff_delay(self, failures: int) -> float:
        """Exponential backoff with jitter after the `failures`-th failed attempt, capped at max_backoff."""
        return min(self._backoff * 2 ** (failures - 1) * random.uniform(0.5, 1.5), self._max_backoff)

    def _wait_out_429(self, endpoint: str, shown: str, what: str, limited: int, elapsed: float,
                      retry_after: float | None, said: str) -> None:
        """Sleep before retrying the `limited`-th 429: Retry-After, else backoff; never past the time
        allowed, and once that is spent, fail saying for how long Polygon kept refusing."""
        left = self._rate_limited_max - elapsed
        if left <= 0:
            answers = f"{limited} answer{'s' if limited > 1 else ''}"
            message = (f"{endpoint} {shown} for {what}: rate limited (HTTP 429) for {elapsed:.1f} s over "
                       f"{answers}, longer than the {self._rate_limited_max:g} s allowed"
                       + (f" (last answer: {said})" if said else ""))
            raise PolygonRetriesExhausted(self._redact(message), endpoint=endpoint, ticker=what, status=429)
        delay = min(retry_after if retry_after is not None else self._backoff_delay(limited), left)
        log.warning("%s %s for %s: rate limited (HTTP 429, %d so far over %.1fs); retry in %.2fs", endpoint,
                    shown, what, limited, elapsed, delay)
        time.sleep(delay)

    def _json(self, response: requests.Response, endpoint: str, shown: str, what: str) -> dict[str, Any]:
        try:
            body = json.loads(response.content)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            message = self._redact(f"{endpoint} {shown} for {what}: malformed JSON ({type(exc).__name__}: "
                                   f"{exc}; {len(response.content)} bytes)")
            raise PolygonResponseError(message, endpoint=endpoint, ticker=what) from None
        if not isinstance(body, dict):
            raise PolygonResponseError(f"{endpoint} {shown} for {what}: body is a {type(body).__name__}, "
                                       "not an object", endpoint=endpoint, ticker=what)
        return body


def _ticker_of(raw: Any, default: str) -> str:
    ticker = raw.get("ticker", raw.get("T")) if isinstance(raw, dict) else None
    return ticker if isinstance(ticker, str) and ticker else default


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
