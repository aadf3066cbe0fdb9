"""Throughput at a paid budget (issue 14: "keep today's throughput within 5% at a paid budget").

"Today's throughput" is read as the request rate a load reaches at a paid plan's budget with the client
as it was when issue 14 was filed: every request booked an evenly spaced slot in one Lua call, with no
log of requests in flight and answered. That limiter is rebuilt here (`SpacingOnlyLimiter`, the same
script as git history's `ratelimit.py` before the exact budget) so it takes turns with today's exact
budget and with no limiter at all in one process. A load's rate is bounded either by the API's answers
(the budget is not binding) or by the budget (it is); both are measured:

- loopback: the sandbox answers in about a millisecond, one thread, 600,000/min (never binding): the
  worst case for any per-request cost of the budget, since nothing else hides it;
- paid plan, latency: the sandbox adds 50 ms to every answer, 4 requests in flight (the loaders'
  concurrency), 6,000/min (Polygon's paid plans ask for under 100 a second): about 80 req/s, not binding;
- paid plan, binding: 4 in flight against the loopback sandbox (hundreds of req/s possible) at
  6,000/min. The exact budget's log binds only once a window is full, so its window is shortened to
  WINDOW_SHORT seconds (budget 6,000/min × window); its cost, a request's own time to its answer per
  window, is then WINDOW_SHORT/60 of a real minute's, an upper bound. The rate is counted at the server
  after the first window, and the busiest window checked against the budget.

Rounds alternate the variants (order rotated each round) so load from elsewhere falls on all alike;
each figure is the median over rounds of a same-round ratio.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from tickstock_pipelines.resources.polygon import PolygonClient, SharedRateLimiter
from tickstock_pipelines.resources.polygon.errors import PolygonError
from tickstock_pipelines.resources.polygon.ratelimit import Slot
from tickstock_sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer

TICKER = "AAPL"
LOOPBACK_RPM = 600_000.0
PAID_RPM = 6_000.0
LATENCY_MS = 50.0
IN_FLIGHT = 4
WINDOW_SHORT = 3.0

# The budget before issue 14 (git history's ratelimit.py): even spacing only, one Lua call a request.
_SPACING_ONLY = """
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


class SpacingOnlyLimiter:
    """The shared budget as issue 14 found it: evenly spaced slots in Redis, nothing recorded after."""

    def __init__(self, client: redis.Redis, requests_per_minute: float, *, key: str) -> None:
        self.requests_per_minute = requests_per_minute
        self.interval = 60.0 / requests_per_minute
        self._key = key
        self._script = client.register_script(_SPACING_ONLY)

    def acquire(self) -> Slot:
        granted, wait = self._script(keys=[self._key], args=[self.interval, 900.0])
        if not int(granted):
            raise PolygonError("spacing-only budget booked too far ahead")
        wait = float(wait)
        if wait > 0:
            time.sleep(wait)
        return Slot("", wait)

    def release(self, slot: Slot) -> None:
        """Nothing to record: the old budget forgot a request once its slot was booked."""

    def flush(self) -> None:
        """Nothing to record."""


@dataclass(frozen=True)
class Rounds:
    loop_rounds: int
    loopback_requests: int  # sequential requests per variant and loopback round
    rounds: int  # of the latency and binding regimes
    latency_seconds: float  # per variant and round
    binding_seconds: float  # per variant and round (the first WINDOW_SHORT not counted)


FULL_ROUNDS = Rounds(loop_rounds=40, loopback_requests=60, rounds=3, latency_seconds=3.0,
                     binding_seconds=8.0)
QUICK_ROUNDS = Rounds(loop_rounds=10, loopback_requests=40, rounds=2, latency_seconds=2.0,
                      binding_seconds=6.0)

DEFINITION = ("today's throughput = the rate at the same budget with the budget as issue 14 found it "
              "(even spacing, one Redis call a request, no log); binding: achieved rate ÷ budget")


def _client(base_url: str, limiter: Any) -> PolygonClient:
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=base_url, sandbox=True, limiter=limiter,
                         concurrency=IN_FLIGHT)


def _sequential(client: PolygonClient, requests: int) -> float:
    """req/s of one thread sending `requests` requests back to back: 1 / the median request time, so a
    stall from elsewhere on the machine (the sandbox shares this process's GIL) does not count."""
    clock = time.perf_counter
    times = []
    for _ in range(requests):
        started = clock()
        client.ticker_details(TICKER)
        times.append(clock() - started)
    return 1 / statistics.median(times)


def _in_flight(base_url: str, limiter: Any, seconds: float) -> tuple[float, float]:
    """IN_FLIGHT threads on one client (as the loaders share theirs) for `seconds`: (start, end)."""
    with _client(base_url, limiter) as client:
        client.ticker_details(TICKER)
        started = time.monotonic()
        stop = started + seconds

        def worker() -> None:
            while time.monotonic() < stop:
                client.ticker_details(TICKER)

        threads = [threading.Thread(target=worker) for _ in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return started, time.monotonic()


def _arrivals(server: SandboxServer, since: float, until: float) -> list[float]:
    return sorted(r["monotonic"] for r in server.stats()["requests"] if since <= r["monotonic"] < until)


def _busiest(stamps: list[float], window: float) -> int:
    j, best = 0, 0
    for i, t in enumerate(stamps):
        while j < len(stamps) and stamps[j] < t + window:
            j += 1
        best = max(best, j - i)
    return best


def _rotate(names: list[str], turn: int) -> list[str]:
    return names[turn % len(names):] + names[:turn % len(names)]


def _summary(rates: dict[str, list[float]], base: str) -> dict[str, Any]:
    out: dict[str, Any] = {name: {"median_per_second": round(statistics.median(v), 1),
                                  "per_round": [round(x, 1) for x in v]} for name, v in rates.items()}
    for name, values in rates.items():
        if name != base:
            ratios = [mine / theirs for mine, theirs in zip(values, rates[base], strict=True)]
            out[name][f"ratio_vs_{base}"] = round(statistics.median(ratios), 3)
            out[name][f"ratio_vs_{base}_range"] = [round(min(ratios), 3), round(max(ratios), 3)]
    return out


def measure(redis_client: redis.Redis, key: str, plan: Rounds) -> dict[str, Any]:
    """The three regimes, each in interleaved rounds; see the module docstring."""
    turn = iter(range(10**6))

    def fresh(name: str) -> str:
        return f"{key}:{name}:{next(turn)}"  # a new budget per round: rounds do not inherit a log

    variants: dict[str, Callable[[float, float], Any]] = {
        "no_limiter": lambda rpm, window: None,
        "spacing_only": lambda rpm, window: SpacingOnlyLimiter(redis_client, rpm, key=fresh("spacing")),
        "exact_budget": lambda rpm, window: SharedRateLimiter(redis_client, rpm, key=fresh("exact"),
                                                              window_seconds=window),
    }
    names = list(variants)
    loopback: dict[str, list[float]] = {n: [] for n in names}
    latency: dict[str, list[float]] = {n: [] for n in names}
    binding: dict[str, list[float]] = {n: [] for n in names[1:]}
    busiest: list[int] = []
    with SandboxServer(SandboxConfig(latency_ms=0)) as fast, \
            SandboxServer(SandboxConfig(latency_ms=LATENCY_MS)) as slow:
        loop_clients = {n: _client(fast.base_url, variants[n](LOOPBACK_RPM, 60.0)) for n in names}
        for client in loop_clients.values():
            _sequential(client, 20)  # connections opened, the scripts loaded
        for r in range(plan.loop_rounds):
            for name in _rotate(names, r):
                loopback[name].append(_sequential(loop_clients[name], plan.loopback_requests))
        for client in loop_clients.values():
            client.close()
        for r in range(plan.rounds):
            for name in _rotate(names, r):
                start, end = _in_flight(slow.base_url, variants[name](PAID_RPM, 60.0), plan.latency_seconds)
                latency[name].append(len(_arrivals(slow, start, end)) / (end - start))
            for name in _rotate(names[1:], r):
                start, end = _in_flight(fast.base_url, variants[name](PAID_RPM, WINDOW_SHORT),
                                        plan.binding_seconds)
                stamps = _arrivals(fast, start, end)
                steady = [t for t in stamps if t >= stamps[0] + WINDOW_SHORT]
                binding[name].append((len(steady) - 1) / (steady[-1] - steady[0]))
                if name == "exact_budget":
                    busiest.append(_busiest(stamps, WINDOW_SHORT))
    budget_rate = PAID_RPM / 60
    window_budget = int(PAID_RPM * WINDOW_SHORT / 60)
    bound = _summary(binding, "spacing_only")
    for name, values in binding.items():
        fractions = [v / budget_rate for v in values]
        bound[name]["of_budget"] = round(statistics.median(fractions), 3)
        bound[name]["of_budget_range"] = [round(min(fractions), 3), round(max(fractions), 3)]
    # The log costs each window the time from a slot to its answer, d: rate = N / (W + d). Measured with
    # W = WINDOW_SHORT, d follows from the ratio to spacing only; at Polygon's 60 s window it is 60/(60 + d).
    ratio = bound["exact_budget"]["ratio_vs_spacing_only"]
    lag = max(WINDOW_SHORT * (1 / ratio - 1), 0.0)
    bound["exact_budget"]["log_delay_per_window_s"] = round(lag, 4)
    bound["exact_budget"]["of_budget_at_60s_window"] = round(
        bound["spacing_only"]["of_budget"] * 60 / (60 + lag), 4)
    if max(busiest) > window_budget:
        raise RuntimeError(f"the exact budget let {max(busiest)} requests into a {WINDOW_SHORT:g} s "
                           f"window of {window_budget}")
    return {
        "definition": DEFINITION,
        "loopback": {"requests_per_minute": LOOPBACK_RPM, "threads": 1, "latency_ms": 0,
                     "rounds": plan.loop_rounds, "requests_per_round": plan.loopback_requests,
                     **_summary(loopback, "no_limiter"),
                     "exact_vs_spacing_only": _ratio(loopback, "exact_budget", "spacing_only")},
        "paid_latency": {"requests_per_minute": PAID_RPM, "threads": IN_FLIGHT, "latency_ms": LATENCY_MS,
                         "rounds": plan.rounds, "seconds_per_round": plan.latency_seconds,
                         **_summary(latency, "no_limiter"),
                         "exact_vs_spacing_only": _ratio(latency, "exact_budget", "spacing_only")},
        "paid_binding": {"requests_per_minute": PAID_RPM, "threads": IN_FLIGHT, "latency_ms": 0,
                         "window_seconds": WINDOW_SHORT, "window_budget": window_budget,
                         "rounds": plan.rounds, "seconds_per_round": plan.binding_seconds,
                         "busiest_window": max(busiest), **bound},
    }


def _ratio(rates: dict[str, list[float]], mine: str, theirs: str) -> float:
    return round(statistics.median(a / b for a, b in zip(rates[mine], rates[theirs], strict=True)), 3)


def render(section: dict[str, Any]) -> str:
    """Section 4 of bench_client's table."""
    loop, lat, bind = section["loopback"], section["paid_latency"], section["paid_binding"]
    exact, spacing = bind["exact_budget"], bind["spacing_only"]
    lines = [
        "\n4. Throughput at a paid budget, " + DEFINITION + ".",
        "   Rounds alternate the variants; figures are medians over rounds of same-round ratios.",
        f"   binding, {bind['requests_per_minute']:,.0f}/min, {bind['threads']} in flight, loopback "
        f"({bind['rounds']} rounds of {bind['seconds_per_round']:g} s, window {bind['window_seconds']:g} s):",
        f"     exact budget {exact['median_per_second']:.1f} req/s = {exact['of_budget']:.3f} of the budget "
        f"(rounds {exact['of_budget_range'][0]:.3f}–{exact['of_budget_range'][1]:.3f}); "
        f"spacing only {spacing['of_budget']:.3f}; ratio {exact['ratio_vs_spacing_only']:.3f}; "
        f"busiest window {bind['busiest_window']} of {bind['window_budget']}",
        f"     the log delays each window by {exact['log_delay_per_window_s'] * 1000:.0f} ms; at Polygon's "
        f"60 s window that is {exact['of_budget_at_60s_window']:.4f} of the budget",
        f"   not binding, {lat['requests_per_minute']:,.0f}/min, {lat['threads']} in flight, "
        f"{lat['latency_ms']:g} ms answers ({lat['rounds']} rounds of {lat['seconds_per_round']:g} s):",
        f"     exact ÷ spacing only {lat['exact_vs_spacing_only']:.3f}; ÷ no limiter "
        f"{lat['exact_budget']['ratio_vs_no_limiter']:.3f} (spacing only ÷ no limiter "
        f"{lat['spacing_only']['ratio_vs_no_limiter']:.3f}); no limiter "
        f"{lat['no_limiter']['median_per_second']:.1f} req/s",
        f"   worst case, {loop['requests_per_minute']:,.0f}/min, 1 thread, loopback answers of about a ms "
        f"({loop['rounds']} rounds of {loop['requests_per_round']} requests):",
        f"     exact ÷ spacing only {loop['exact_vs_spacing_only']:.3f}; ÷ no limiter "
        f"{loop['exact_budget']['ratio_vs_no_limiter']:.3f} (spacing only ÷ no limiter "
        f"{loop['spacing_only']['ratio_vs_no_limiter']:.3f}); no limiter "
        f"{loop['no_limiter']['median_per_second']:,.0f} req/s",
    ]
    return "\n".join(lines)
