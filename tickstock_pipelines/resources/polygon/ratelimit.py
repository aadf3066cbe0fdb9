"""The request budget shared by every process and run through Redis, exact as the server counts it.

The rule: no 60-second window, *as the server sees it*, holds more requests than the budget, with
network jitter and several processes. Evenly spaced slots alone do not promise that: a request that
leaves its slot a little late and one sent on time 60 s later land in one window at the server (issue
14 saw 31 in a window of a 30/min budget). So each request is also kept in a log in Redis, from the
moment its slot is booked until 60 s after its answer came back. The server received it somewhere in
between, so a new request may go only while fewer than `budget` requests of the log could still share
a 60-second window with it: those in flight, and those answered less than 60 s before its slot. That
bound holds whatever the jitter, the CPU load or the number of processes; it costs each request its
own round trip time (a slot is taken 60 s after the answer, not 60 s after the send): under 1% of a
paid plan's throughput against Polygon.

Requests are also spaced evenly (`interval = 60 / budget`: 12 s for the free plan's 5/min), so a budget
is spread over its minute, never spent in one burst. One atomic Lua call books a slot and reads the
Redis server's clock, so every process and host agrees on time and waiters are served in arrival
order. Answers are recorded with the next booking (its round trip carries them, with how long ago
each came back), so the budget still costs one Redis round trip a request; `flush()` records the last
ones. A process that dies mid-request leaves its booking to expire after `lease_seconds`, counted as
answered then. pyrate-limiter's RedisBucket was considered: it logs send times on each client's own
clock and polls while blocked, so it cannot see jitter between send and arrival (its pin is dropped).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from dataclasses import dataclass

import redis

from tickstock_pipelines.resources.polygon.errors import BudgetWaitTimeout, PolygonError

DEFAULT_KEY = "tickstock:polygon:budget"
WINDOW_SECONDS = 60.0
DEFAULT_IN_FLIGHT, MAX_IN_FLIGHT = 4, 32
ROUND_TRIP_SECONDS = 0.2  # the round trip the derived in-flight count is sized for (Polygon: 50–200 ms)


def in_flight_for(requests_per_minute: float) -> int:
    """Requests to keep in flight so that the budget, not the round trip, sets the pace (Little's law:
    rate × round trip). 4 up to 1,200 a minute (the free plan's 5: its 12 s slots are the wait, whatever
    is in flight); a paid 6,000 a minute needs 20, where 4 in flight at 100 ms reached 37 calls a second
    of the 100 allowed. The budget still books every request: more in flight never sends more."""
    needed = math.ceil(requests_per_minute / 60 * ROUND_TRIP_SECONDS)
    return min(MAX_IN_FLIGHT, max(DEFAULT_IN_FLIGHT, needed))

# KEYS: next free slot, requests in flight (token → lease end), requests answered (token → when).
# ARGV: interval, max wait, budget, lease, window, token to book ('' = only record answers),
#       then pairs (token, seconds since its answer came back).
# Returns {1 booked / 0 refused (wait > max wait) / 2 busy (look again), seconds}.
_BOOK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2])
local budget, lease, window = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 7, #ARGV, 2 do
  if redis.call('ZREM', KEYS[2], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[3], now - tonumber(ARGV[i + 1]), ARGV[i])
  end
end
local lapsed = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'WITHSCORES')
for i = 1, #lapsed, 2 do
  redis.call('ZREM', KEYS[2], lapsed[i])
  redis.call('ZADD', KEYS[3], lapsed[i + 1], lapsed[i])
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
local ttl = math.ceil((lease + window) * 1000) + 60000
if ARGV[6] == '' then
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {1, '0'}
end
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
local flying = redis.call('ZCARD', KEYS[2])
if flying >= budget then
  local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local again = tonumber(oldest[2]) - lease + window - now
  if again < math.min(interval, 0.25) then again = math.min(interval, 0.25) end
  return {2, tostring(again)}
end
local room = budget - flying
if redis.call('ZCARD', KEYS[3]) >= room then
  local nth = redis.call('ZREVRANGE', KEYS[3], room - 1, room - 1, 'WITHSCORES')
  local free_at = tonumber(nth[2]) + window
  if free_at > slot then slot = free_at end
end
local wait = slot - now
if wait > max_wait then return {0, tostring(wait)} end
local next_ttl = math.ceil((wait + interval) * 1000) + 60000
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', next_ttl)
redis.call('ZADD', KEYS[2], slot + lease, ARGV[6])
redis.call('PEXPIRE', KEYS[2], ttl + math.ceil(wait * 1000))
redis.call('PEXPIRE', KEYS[3], ttl + math.ceil(wait * 1000))
return {1, tostring(wait)}
"""


@dataclass(frozen=True)
class Slot:
    """A booked request: `release(slot)` once its answer (or failure) is back."""

    token: str
    waited: float


class SharedRateLimiter:
    """`acquire()` before every request sent (retries and 429s included), `release()` after it."""

    def __init__(self, client: redis.Redis, requests_per_minute: float, *, key: str = DEFAULT_KEY,
                 max_wait_seconds: float = 900.0, lease_seconds: float = 90.0,
                 window_seconds: float = WINDOW_SECONDS) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.budget = max(1, int(requests_per_minute * window_seconds / 60))  # whole requests a window
        self.interval = 60.0 / requests_per_minute
        self.max_wait_seconds = max_wait_seconds
        self.lease_seconds = lease_seconds  # longer than any request may take to reach the server
        self.window_seconds = window_seconds  # Polygon counts per minute; tests use a shorter one
        self._client = client
        self._keys = [key, f"{key}:flight", f"{key}:done"]
        self._script = client.register_script(_BOOK)
        self._tokens = itertools.count()
        self._prefix = f"{os.getpid()}:{os.urandom(4).hex()}:"
        self._answered: list[tuple[str, float]] = []  # (token, monotonic time its answer came back)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SharedRateLimiter(requests_per_minute={self.requests_per_minute:g}, key={self._keys[0]!r})"

    def acquire(self) -> Slot:
        """Block until this request's slot; the slot says how long it waited.

        Raises BudgetWaitTimeout (booking nothing) when the queue ahead is longer than the max wait,
        and PolygonError when Redis cannot be reached: without it the budget cannot be kept.
        """
        token = f"{self._prefix}{next(self._tokens)}"
        waited = 0.0
        while True:
            code, wait = self._call(token)
            if code == 1:
                if wait > 0:
                    time.sleep(wait)
                return Slot(token, waited + wait)
            if code == 0 or waited + wait > self.max_wait_seconds:
                raise BudgetWaitTimeout(
                    f"the shared Polygon request budget ({self.requests_per_minute:g}/min) is booked "
                    f"{waited + wait:.0f} s ahead, more than the {self.max_wait_seconds:g} s allowed")
            time.sleep(wait)  # every request that may share a window is still in flight: look again
            waited += wait

    def release(self, slot: Slot) -> None:
        """The request's answer (or failure) is back: recorded with the next booking, or by flush()."""
        with self._lock:
            self._answered.append((slot.token, time.monotonic()))

    def flush(self) -> None:
        """Record the answers not yet sent to Redis (when a client closes)."""
        with self._lock:
            if not self._answered:
                return
        self._call("")

    def _call(self, token: str) -> tuple[int, float]:
        with self._lock:
            answered, self._answered = self._answered, []
        now = time.monotonic()
        args: list[object] = [self.interval, self.max_wait_seconds, self.budget, self.lease_seconds,
                              self.window_seconds, token]
        for done, at in answered:
            args += [done, f"{max(now - at, 0.0):.6f}"]
        try:
            code, wait = self._script(keys=self._keys, args=args)
        except redis.RedisError as exc:
            with self._lock:
                self._answered[:0] = answered  # recorded by a later call, if Redis comes back
            raise PolygonError(f"the shared Polygon request budget in Redis is unavailable: "
                               f"{type(exc).__name__}: {exc}") from None
        return int(code), float(wait)
