"""The fault matrix's workloads and scenarios, shared by the reliability tests and
benchmarks/fault_matrix.py: what each loads, what it injects into the sandbox, and the words a failure
must use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOW30 = ("AAPL", "AMGN", "AMZN", "AXP", "BA", "CAT", "CRM", "CSCO", "CVX", "DIS", "GS", "HD", "HON", "IBM",
         "JNJ", "JPM", "KO", "MCD", "MMM", "MRK", "MSFT", "NKE", "NVDA", "PG", "SHW", "TRV", "UNH", "V",
         "VZ", "WMT")


@dataclass(frozen=True)
class Workload:
    """What one load asks for: the symbols asset's config, the partitions and the assets selected (the
    selection `tickstock load` makes: etf_metadata after day bars, so the tables compare)."""

    name: str
    config: dict[str, Any]
    keys: tuple[str, ...]
    selection: tuple[str, ...]


WORKLOADS = {
    # one details call and one aggregates call per symbol: 61 requests
    "daily_aggregates": Workload("daily_aggregates", {"symbols": [*DOW30, "SPY", "QQQ"], "years": 2},
                                 (*DOW30, "SPY", "QQQ"), ("symbols", "ohlcv_daily", "etf_metadata")),
    # a month for 30 symbols: grouped daily, one call per session
    "daily_grouped": Workload("daily_grouped", {"symbols": list(DOW30), "months": 1}, DOW30,
                              ("symbols", "ohlcv_daily", "etf_metadata")),
    # nine months of minute bars: more than 50,000 bars, so the aggregates answer comes in pages
    "minute_pages": Workload("minute_pages", {"symbols": ["KO"], "months": 9, "timespan": "minute"},
                             ("KO",), ("symbols", "ohlcv_minute")),
}


@dataclass(frozen=True)
class Scenario:
    """Faults (sandbox `inject` rules) during one workload, and the resource settings of the client."""

    name: str
    workload: str
    faults: tuple[dict[str, Any], ...]
    polygon: dict[str, Any] = field(default_factory=dict)
    # "complete": the first run must succeed with identical data; "resume": it may fail clearly, and the
    # next run (faults gone) must complete it
    expect: str = "complete"
    min_fault_share: float = 0.0  # a storm: at least this share of the requests got a fault
    sandbox: dict[str, Any] = field(default_factory=dict)  # sandbox settings for both runs (page size)

    @property
    def retry_after(self) -> float | None:
        """The Retry-After the scenario's 429s carry, if any (their retries must wait that long)."""
        return next((f["retry_after"] for f in self.faults
                     if str(f["kind"]) == "429" and f.get("retry_after") is not None), None)


# Issue 14: a fifth of the aggregates requests (grouped daily, or per-symbol pages of 60 bars so next_url
# is followed) fail in one of seven ways at random (seeded), bodies cut short or garbled among them.
MIXED_FAULTS = tuple({"kind": kind, "path": "/v2/aggs", "probability": 0.032}
                     for kind in ("429", "500", "503", "disconnect", "truncated", "cut", "malformed"))
SCENARIOS = (
    Scenario("429 storm (every 3rd request), no Retry-After", "daily_aggregates",
             ({"kind": "429", "every": 3},)),
    Scenario("429 storm (every 3rd request), Retry-After 0.2 s", "daily_aggregates",
             ({"kind": "429", "every": 3, "retry_after": 0.2},)),
    # More 429s in a row than max_retries (5) allows per request: each of the 4 threads gets ~10.
    Scenario("429 wall (the next 40 answers), Retry-After 0.05 s", "daily_aggregates",
             ({"kind": "429", "count": 40, "retry_after": 0.05},)),
    # Seeded, so the same requests answer 429 on every run; the product's own 1 s backoff base.
    Scenario("429 at random on 35% of requests, 1 s backoff, no Retry-After", "daily_aggregates",
             ({"kind": "429", "probability": 0.35},), polygon={"backoff_seconds": 1.0}, min_fault_share=0.30),
    Scenario("5xx bursts (500 x3, 502 x2, 503 x2, 504 x2)", "daily_aggregates",
             ({"kind": "500", "path": "/v3/reference/tickers", "count": 3},
              {"kind": "502", "path": "/v2/aggs", "count": 2},
              {"kind": "503", "path": "/v3/reference/splits", "count": 2},
              {"kind": "504", "path": "/v2/aggs", "after": 10, "count": 2})),
    Scenario("timeouts (3 responses slower than the 1 s client timeout)", "daily_aggregates",
             ({"kind": "slow", "path": "/v2/aggs", "every": 7, "count": 3, "sleep_seconds": 2.0},),
             polygon={"timeout_seconds": 1.0}),
    Scenario("dropped connections (disconnect x4)", "daily_grouped",
             ({"kind": "disconnect", "path": "/v2/aggs/grouped", "every": 4, "count": 4},)),
    Scenario("truncated JSON on aggregates", "daily_aggregates",
             ({"kind": "truncated", "path": "/v2/aggs", "after": 12, "count": 1},), expect="resume"),
    Scenario("truncated JSON on ticker details", "daily_aggregates",
             ({"kind": "truncated", "path": "/v3/reference/tickers/", "after": 5, "count": 2},),
             expect="resume"),
    Scenario("malformed JSON on grouped daily", "daily_grouped",
             ({"kind": "malformed", "path": "/v2/aggs/grouped", "after": 8, "count": 1},), expect="resume"),
    Scenario("page 2 answers 500 twice (retried)", "minute_pages",
             ({"kind": "500", "path": "/v2/aggs", "pages_only": True, "count": 2},)),
    Scenario("page 2 fails for good (500 beyond the retries)", "minute_pages",
             ({"kind": "500", "path": "/v2/aggs", "pages_only": True},), expect="resume"),
    Scenario("20% mixed faults (429, 5xx, disconnect, truncated, cut, malformed) on aggregates pages of 60 "
             "bars", "daily_aggregates", MIXED_FAULTS, sandbox={"aggs_page_limit": 60}, min_fault_share=0.12),
    Scenario("20% mixed faults (429, 5xx, disconnect, truncated, cut, malformed) on grouped daily",
             "daily_grouped", MIXED_FAULTS, min_fault_share=0.05),  # details calls are most requests
    Scenario("page 2 truncated", "minute_pages",
             ({"kind": "truncated", "path": "/v2/aggs", "pages_only": True, "count": 1},), expect="resume"),
)
# A third of the requests answer 429 for over a minute of a 90/min budget (the 4 threads of a loader take
# turns, so a retry that ignored Retry-After would still come up to 4 × 0.67 s later: 4 s tells them apart).
STORM_BUDGET = 90.0
STORM_RPM = f"{STORM_BUDGET:g}"  # as the resource takes it: the text of POLYGON_REQUESTS_PER_MINUTE
MINUTE_STORMS = (
    Scenario("429 storm over a minute of a 90/min budget, Retry-After 4 s", "daily_aggregates",
             ({"kind": "429", "every": 3, "retry_after": 4.0},),
             polygon={"requests_per_minute": STORM_RPM, "budget_key": "tickstock:test:storm:retry-after"},
             min_fault_share=0.30),
    Scenario("429 storm over a minute of a 90/min budget, no Retry-After, 1 s backoff", "daily_aggregates",
             ({"kind": "429", "every": 3},),
             polygon={"requests_per_minute": STORM_RPM, "budget_key": "tickstock:test:storm:backoff",
                      "backoff_seconds": 1.0},
             min_fault_share=0.30),
)
# What a clear failure names, by fault kind (the client's own wording).
FAULT_WORDS = {"429": "HTTP 429", "500": "HTTP 500", "502": "HTTP 502", "503": "HTTP 503", "504": "HTTP 504",
               "slow": "Timeout", "disconnect": "Connection", "malformed": "malformed JSON",
               "truncated": "malformed JSON", "cut": "ChunkedEncodingError"}


def retry_gaps(log: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each 429 answer with the next request for the same endpoint and ticker (its retry), or None.
    Requests without a ticker are left out: two of them at once cannot be told apart."""
    out = []
    for i, hit in enumerate(log):
        if hit["status"] != 429 or hit["ticker"] is None:
            continue
        out.append((hit, next((r for r in log[i + 1:]
                               if r["endpoint"] == hit["endpoint"] and r["ticker"] == hit["ticker"]), None)))
    return out
