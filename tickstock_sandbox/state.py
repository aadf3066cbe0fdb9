"""Everything a sandbox server mutates: its config, securities, run-time splits and statistics."""

from __future__ import annotations

import copy
import random
import threading
import time
from collections import Counter, OrderedDict, deque
from datetime import UTC, date, datetime
from typing import Any

from tickstock_sandbox.config import FaultRule, SandboxConfig
from tickstock_sandbox.market import Block, listings
from tickstock_sandbox.splits import SHIPPED, Split
from tickstock_sandbox.universe import Security, new_security, reference_universe

MAX_RECORDED_REQUESTS = 200_000


class Stats:
    """Request statistics; `snapshot()` is what GET /_sandbox/stats returns."""

    def __init__(self) -> None:
        self.total = 0
        self.by_endpoint: Counter[str] = Counter()
        self.status_codes: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.key_in_url = 0
        self.auth_failures = 0
        self.requests: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_REQUESTS)

    def record(self, endpoint: str, status: int | None, started_mono: float, started_wall: float,
               fault: str | None, ticker: str | None) -> None:
        self.total += 1
        self.by_endpoint[endpoint] += 1
        self.status_codes[str(status) if status else "no response"] += 1
        if fault:
            self.faults[fault] += 1
        self.requests.append({"endpoint": endpoint, "ticker": ticker, "status": status, "fault": fault,
                              "monotonic": started_mono, "wall": started_wall})

    def snapshot(self) -> dict[str, Any]:
        return {
            "total_requests": self.total, "by_endpoint": dict(self.by_endpoint),
            "status_codes": dict(self.status_codes), "faults_injected": dict(self.faults),
            "key_in_url": self.key_in_url > 0, "key_in_url_requests": self.key_in_url,
            "auth_failures": self.auth_failures, "requests": list(self.requests),
        }


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self._initial = copy.deepcopy(config)
        self.wake = threading.Event()  # set on stop: sleeping requests (latency, "slow") return at once
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.config = copy.deepcopy(self._initial)
            self.securities: dict[str, Security] = dict(reference_universe())
            self.market = Block.of([])
            self._synthesize()
            self.added_splits: list[Split] = []
            self.stats = Stats()
            self.version = 0  # bumped on every data change: invalidates cached responses
            self.grouped_cache: OrderedDict[tuple, list[dict]] = OrderedDict()
            self._accepted: deque[float] = deque()
            self._random = random.Random(20260822)

    # -- clock and data ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.config.now or datetime.now(UTC)

    def splits_for(self, ticker: str) -> list[Split]:
        return [s for s in (*SHIPPED, *self.added_splits) if s.ticker == ticker]

    def all_splits(self) -> list[Split]:
        return [*SHIPPED, *self.added_splits]

    def add_split(self, ticker: str, execution_date: date | str, split_from: float, split_to: float) -> Split:
        when = date.fromisoformat(execution_date) if isinstance(execution_date, str) else execution_date
        split = Split(ticker.upper(), when, float(split_from), float(split_to), shipped=False)
        with self.lock:
            self.added_splits.append(split)
            self._changed()
        return split

    def add_ticker(self, ticker: str, **details: Any) -> Security:
        if isinstance(details.get("list_date"), str):
            details["list_date"] = date.fromisoformat(details["list_date"])
        security = new_security(ticker.upper(), **details)
        with self.lock:
            self.securities = dict(sorted({**self.securities, security.ticker: security}.items()))
            self._changed()
        return security

    def delist(self, ticker: str, when: date | str | None = None) -> Security:
        day = date.fromisoformat(when) if isinstance(when, str) else (when or self.now().date())
        with self.lock:
            from dataclasses import replace

            security = replace(self.securities[ticker.upper()], active=False, delisted=day)
            self.securities = {**self.securities, security.ticker: security}
            self._changed()
        return security

    def configure(self, changes: dict[str, Any]) -> None:
        with self.lock:
            self.config.update(changes)
            if {"synthetic_stocks", "synthetic_etfs"} & set(changes):
                self._synthesize()
            self._changed()

    def _synthesize(self) -> None:
        """The configured synthetic listings in place of the previous ones (none by default)."""
        kept = {t: s for t, s in self.securities.items() if not s.profile.synthetic}
        added = listings(self.config.synthetic_stocks, self.config.synthetic_etfs)
        self.market = Block.of([s.profile for s in added])
        self.securities = dict(sorted({**kept, **{s.ticker: s for s in added}}.items()))

    def _changed(self) -> None:
        self.version += 1
        self.grouped_cache.clear()

    # -- request gates -------------------------------------------------------------------------
    def over_rate_limit(self, now_mono: float) -> bool:
        """Polygon-style enforced budget over a rolling minute; only accepted requests count."""
        limit = self.config.rate_limit_per_minute
        with self.lock:
            while self._accepted and now_mono - self._accepted[0] >= 60.0:
                self._accepted.popleft()
            if limit is not None and len(self._accepted) >= limit:
                return True
            self._accepted.append(now_mono)
            return False

    def fault_for(self, path: str, ticker: str | None, has_cursor: bool) -> FaultRule | None:
        """The first rule that fires for this request (rules are tried in order)."""
        with self.lock:
            for rule in self.config.faults:
                if rule.path and not path.startswith(rule.path):
                    continue
                if rule.pages_only and not has_cursor:
                    continue
                if rule.ticker and ticker and rule.ticker.upper() != ticker.upper():
                    continue
                if rule.ticker and not ticker and rule.kind != "invalid_bars":
                    continue
                rule.seen += 1
                if rule.seen <= rule.after:
                    continue
                if rule.count is not None and rule.fired >= rule.count:
                    continue
                if rule.every and (rule.seen - rule.after) % rule.every:
                    continue
                if rule.probability is not None and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                return rule
        return None

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.wake.wait(seconds)

    def record(self, *args: Any) -> None:
        with self.lock:
            self.stats.record(*args)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            out = self.stats.snapshot()
            out["config"] = self.config.to_json()
            out["added_splits"] = [s.wire() for s in self.added_splits]
            out["monotonic_now"] = time.monotonic()
            return out
