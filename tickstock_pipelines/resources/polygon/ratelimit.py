"""A request budget shared by every process through Redis: requests are spaced evenly.

Spacing (not bursts) matches the seed's 12-second rhythm for 5/minute. One atomic Lua call hands out
the next free slot on the Redis server's clock, so two loads in two processes stay within one budget together.
"""

from __future__ import annotations

import time

import redis

_NEXT_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], tostring(slot + interval), 'PX', math.ceil(interval * 1000) + 60000)
return {tostring(slot), tostring(now)}
"""


class SharedRateLimiter:
    def __init__(self, client: redis.Redis, requests_per_minute: float,
                 key: str = "tickstock:polygon:budget") -> None:
        self._client = client
        self._interval = 60.0 / requests_per_minute
        self._key = key
        self._script = client.register_script(_NEXT_SLOT)

    def acquire(self) -> float:
        """Block until this request's slot; returns the seconds waited."""
        slot, now = (float(v) for v in self._script(keys=[self._key], args=[self._interval]))
        wait = slot - now  # the server's clock: every process and host agrees on it
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)
