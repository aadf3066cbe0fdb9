"""What the Polygon client retries and how long it waits, in one place (tenacity, as dlt's REST client does).

Faults are per request: a 5xx, a timeout, a dropped connection and a body that does not parse
(truncated, cut mid-stream, garbled) are retried like each other, within one error allowance of
`max_retries`, with exponential backoff (or the server's Retry-After). A 429 is Polygon telling us to wait,
not an error: it spends none of that allowance and is bounded by time instead, `rate_limited_max_seconds`
from the request's first 429, waiting Retry-After when given. Anything else (a 4xx, a body that parses but
is not what Polygon documents) is not retried: asking again gets the same answer.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type
from tenacity.wait import wait_base

from tickstock_pipelines.resources.polygon.errors import (
    PolygonError,
    PolygonResponseError,
    PolygonRetriesExhausted,
)

log = logging.getLogger("tickstock_pipelines.resources.polygon.client")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A dropped connection mid-body surfaces as ChunkedEncodingError, not ConnectionError: also transient.
TRANSIENT_ERRORS = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


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


@dataclass
class Tally:
    """One request's failed attempts so far, by allowance, and the words its final error will use."""

    endpoint: str
    shown: str  # "endpoint /path?params for WHAT", already redacted
    what: str  # the ticker (or list) the request is for
    errors: int = 0
    limited: int = 0
    limited_since: float | None = None
    limited_for: float = 0.0  # seconds from the first 429 to the latest one
    said: list[str] = field(default_factory=list)  # the server's last words, when it sent any

    @property
    def attempts(self) -> int:
        return self.errors + self.limited


class TransientFault(Exception):
    """One attempt failed in a way a later one may not; lives only inside the retry loop."""

    def __init__(self, problem: str, tally: Tally, *, status: int | None = None, said: str = "",
                 retry_after: float | None = None, body: bool = False) -> None:
        super().__init__(problem)
        self.problem, self.tally, self.status = problem, tally, status
        self.retry_after, self.body = retry_after, body
        if status == 429:
            tally.limited += 1
            now = time.monotonic()
            tally.limited_since = now if tally.limited_since is None else tally.limited_since
            tally.limited_for = now - tally.limited_since
        else:
            tally.errors += 1
        tally.said[:] = [said] if said else []

    @property
    def limited(self) -> bool:
        return self.status == 429


@dataclass(frozen=True)
class RetryPolicy:
    """The two allowances of one request, and the waits between its attempts."""

    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    rate_limited_max_seconds: float = 600.0

    def backoff(self, failures: int) -> float:
        """Exponential backoff with jitter after the `failures`-th failed attempt, capped at max_backoff."""
        return min(self.backoff_seconds * 2 ** (failures - 1) * random.uniform(0.5, 1.5),
                   self.max_backoff_seconds)

    def retrying(self) -> Retrying:
        """The loop: retry transient faults only, wait as `wait_retry_after` says, stop as `spent` says."""
        return Retrying(retry=retry_if_exception_type(TransientFault), wait=wait_retry_after(self),
                        stop=self.spent, before_sleep=self._log_retry, sleep=_sleep, reraise=True)

    def spent(self, state: RetryCallState) -> bool:
        """The allowance of the last fault's kind is used up: errors by count, 429s by time."""
        fault = _fault(state)
        if fault.limited:
            return fault.tally.limited_for >= self.rate_limited_max_seconds
        return fault.tally.errors > self.max_retries

    def _log_retry(self, state: RetryCallState) -> None:
        fault, delay = _fault(state), state.upcoming_sleep
        tally = fault.tally
        if fault.limited:
            log.warning("%s: rate limited (HTTP 429, %d so far over %.1fs); retry in %.2fs", tally.shown,
                        tally.limited, tally.limited_for, delay)
        else:
            log.warning("%s: %s; retry %d of %d in %.2fs", tally.shown, fault.problem, tally.errors,
                        self.max_retries, delay)

    def exhausted(self, fault: TransientFault, redact: Callable[[str], str]) -> PolygonError:
        """The error a request raises once its allowance is spent."""
        tally = fault.tally
        where = {"endpoint": tally.endpoint, "ticker": tally.what}
        said = f" (last answer: {tally.said[0]})" if tally.said else ""
        if fault.limited:
            answers = f"{tally.limited} answer{'s' if tally.limited > 1 else ''}"
            message = (f"{tally.shown}: rate limited (HTTP 429) for {tally.limited_for:.1f} s over "
                       f"{answers}, longer than the {self.rate_limited_max_seconds:g} s allowed{said}")
            return PolygonRetriesExhausted(redact(message), status=429, **where)
        of_them = f" ({tally.limited} of them answered 429)" if tally.limited else ""
        message = redact(f"{tally.shown}: {fault.problem} after {tally.attempts} attempts{of_them}{said}")
        # A body that never parsed is a bad response, whatever the count: callers tell it apart by type.
        error = PolygonResponseError if fault.body else PolygonRetriesExhausted
        return error(message, status=fault.status, **where)


class wait_retry_after(wait_base):  # named like tenacity's own waits
    """Retry-After when the server sent one, else exponential backoff with jitter; 429 waits never run past
    the time allowed for 429s, and error waits not past max_backoff."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> float:
        fault, policy = _fault(state), self.policy
        if fault.limited:
            left = max(policy.rate_limited_max_seconds - fault.tally.limited_for, 0.0)
            if fault.retry_after is not None:
                return min(fault.retry_after, left)
            return min(policy.backoff(fault.tally.limited), left)
        if fault.retry_after is not None:
            return min(fault.retry_after, policy.max_backoff_seconds)
        return policy.backoff(fault.tally.errors)


def _fault(state: RetryCallState) -> TransientFault:
    assert state.outcome is not None  # tenacity asks only after an attempt failed
    fault = state.outcome.exception()
    assert isinstance(fault, TransientFault)  # the only exception retried
    return fault


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so a test may replace time.sleep
