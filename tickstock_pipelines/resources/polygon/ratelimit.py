"""The request budget shared by every process and run through Redis: requests are spaced evenly.

Why spacing rather than a window of N per minute: the seed loads at one request every 12 s for 5/min,
and even spacing can never burst past what Polygon allows however many processes start at once.
Each request reserves the next free slot (`interval = 60 / requests_per_minute` after the previous
one) in one atomic Lua call that reads the Redis server's clock, so every process and host agrees on
time, waiters are served in arrival order, and nobody polls. pyrate-limiter's RedisBucket was
considered: it keeps a sliding-window log on each client's own clock and polls while blocked, which
allows a burst of N at the start of every window.

A reserved slot is always spent, even if the request is then never sent: that errs on the safe side.
"""

from __future__ import annotations

import time

import redis

from tickstock_pipelines.resources.polygon.errors import BudgetWaitTimeout, PolygonError

DEFAULT_KEY = "tickstock:polygon:budget"

# KEYS[1] = next free slot (server seconds); ARGV[1] = interval, ARGV[2] = max wait.
# Returns {granted 1/0, seconds to wait}. A refused request reserves nothing.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local wait = slot - now
if wait > tonumber(ARGV[2]) then return {0, tostring(wait)} end
local ttl_ms = math.ceil((wait + interval) * 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', ttl_ms)
return {1, tostring(wait)}
"""


class SharedRateLimiter:
    """`acquire()` before every request sent (retries and 429s included) keeps all callers in budget."""

    def __init__(self, client: redis.Redis, requests_per_minute: float, *, key: str = DEFAULT_KEY,
                 max_wait_seconds: float = 900.0) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.interval = 60.0 / requests_per_minute
        self.max_wait_seconds = max_wait_seconds
        self._client = client
        self._key = key
        self._script = client.register_script(_RESERVE)

    def __repr__(self) -> str:
        return f"SharedRateLimiter(requests_per_minute={self.requests_per_minute:g}, key={self._key!r})"

    def acquire(self) -> float:
        """Block until this request's slot; returns the seconds waited.

        Raises BudgetWaitTimeout (reserving nothing) when the queue ahead is longer than the max wait,
        and PolygonError when Redis cannot be reached: without it the budget cannot be kept.
        """
        try:
            granted, wait = self._script(keys=[self._key], args=[self.interval, self.max_wait_seconds])
        except redis.RedisError as exc:
            raise PolygonError(f"the shared Polygon request budget in Redis is unavailable: "
                               f"{type(exc).__name__}: {exc}") from None
        wait = float(wait)
        if not int(granted):
            raise BudgetWaitTimeout(
                f"the shared Polygon request budget ({self.requests_per_minute:g}/min) is booked "
                f"{wait:.0f} s ahead, more than the {self.max_wait_seconds:g} s allowed")
        if wait > 0:
            time.sleep(wait)
        return wait
