"""What a test or benchmark can steer: latency, faults, an enforced rate limit, a fixed "now", and
switches (off by default) that make the sandbox behave like the real API where it departs from the docs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Literal

FaultKind = Literal[
    "429",  # Polygon's rate-limit error body; `retry_after` adds a Retry-After header
    "500", "502", "503", "504",  # server errors with an error body
    "slow",  # the real response, after sleeping `sleep_seconds` (longer than a client timeout)
    "malformed",  # HTTP 200 whose body is not JSON
    "truncated",  # HTTP 200 whose JSON body is cut in half (Content-Length matches what is sent)
    "cut",  # HTTP 200 announcing the whole body, cut mid-stream: half of it, then the connection closes
    "disconnect",  # the connection is closed without any response
    "invalid_bars",  # aggregates/grouped bars of `ticker` (or all) corrupted as `invalid`
]
InvalidKind = Literal["high_lt_low", "negative_volume", "nan", "open_outside"]
FAULT_KINDS = frozenset(FaultKind.__args__)


@dataclass
class FaultRule:
    """When it fires: every matching request unless limited by `count` (the next K matches),
    `every` (every Nth match), `probability` (seeded, so repeatable) and `after` (skip the first N).
    `path` is a prefix of the request path ("/v2/aggs", "/v3/reference/tickers"); `pages_only`
    matches only follow-up pages (requests carrying a `cursor`), e.g. "page 2 fails"."""

    kind: FaultKind
    path: str | None = None
    ticker: str | None = None
    count: int | None = None
    every: int | None = None
    probability: float | None = None
    after: int = 0
    pages_only: bool = False
    retry_after: float | None = None
    sleep_seconds: float = 5.0
    invalid: InvalidKind = "high_lt_low"
    seen: int = 0  # matching requests so far (state)
    fired: int = 0  # times it fired (state)

    def __post_init__(self) -> None:
        self.kind = str(self.kind)  # type: ignore[assignment]  # JSON may send 429 as a number
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {sorted(FAULT_KINDS)}")

    @classmethod
    def from_value(cls, value: FaultRule | dict[str, Any]) -> FaultRule:
        return value if isinstance(value, FaultRule) else cls(**value)


@dataclass
class SandboxConfig:
    latency_ms: float = 0.0  # added to every API request
    rate_limit_per_minute: float | None = None  # enforced over a rolling minute → 429 like Polygon
    aggs_page_limit: int | None = None  # most bars an aggregates page holds (real Polygon: 50,000)
    now: datetime | None = None  # fixed clock: decides the last completed session
    faults: list[FaultRule] = field(default_factory=list)
    # The real API's plan limits and delistings (off by default: the README demo stays as it is).
    plan_history_years: int | None = None  # bars older than this many years answer the plan's 403
    delisted_details_404: bool = False  # details of a delisted ticker 404; the list still has it
    plan_delayed_sessions: int = 0  # the newest N completed sessions answer the plan's end-of-day 403
    # the real grouped daily leaves some tickers out while per-ticker aggregates still serve them
    grouped_omit: list[str] = field(default_factory=list)
    # the newest N completed sessions answer grouped daily empty (`results` absent): not yet published
    grouped_unpublished_sessions: int = 0
    # synthetic listings beyond the shipped universe (market.py): a whole market for benchmarks
    synthetic_stocks: int = 0
    synthetic_etfs: int = 0

    def __post_init__(self) -> None:
        self.faults = [FaultRule.from_value(f) for f in self.faults]
        self.grouped_omit = sorted({str(t).upper() for t in self.grouped_omit})
        self.grouped_unpublished_sessions = int(self.grouped_unpublished_sessions)
        if self.grouped_unpublished_sessions < 0:
            raise ValueError("grouped_unpublished_sessions must be ≥ 0")
        self.synthetic_stocks, self.synthetic_etfs = int(self.synthetic_stocks), int(self.synthetic_etfs)
        if min(self.synthetic_stocks, self.synthetic_etfs) < 0:
            raise ValueError("synthetic_stocks and synthetic_etfs must be ≥ 0")
        self.now = parse_now(self.now)

    def update(self, changes: dict[str, Any]) -> None:
        """Apply `configure(**changes)`: known fields, plus `add_faults` to append rules."""
        known = {f.name for f in fields(self)}
        for name, value in changes.items():
            if name == "add_faults":
                self.faults.extend(FaultRule.from_value(f) for f in value)
            elif name in known:
                setattr(self, name, value)
            else:
                raise ValueError(f"unknown sandbox setting {name!r}; one of {sorted(known | {'add_faults'})}")
        self.__post_init__()

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["now"] = self.now.isoformat() if self.now else None
        return out


def parse_now(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
