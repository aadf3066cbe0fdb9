"""API faults injected at the sandbox during real load_job runs (real HTTP, PostgreSQL, Redis).

Each scenario's database is compared row by row with a clean run of the same workload: either the run
completes with identical data, or it fails with a clear reason and the next run completes it, with
nothing missing and nothing extra.
"""

from __future__ import annotations

from typing import Any

import pytest

from tickstock_pipelines_tests.conftest import create_database
from tickstock_pipelines_tests.reliability_helpers import (
    SCENARIOS,
    WORKLOADS,
    Scenario,
    clean_tables,
    loaded_tables,
    run_scenario,
)

pytestmark = pytest.mark.slow

_clean: dict[str, dict[str, list[tuple[Any, ...]]]] = {}


@pytest.fixture
def clean(pg_template_uri: str, redis_url: str):
    def get(workload: str) -> dict[str, list[tuple[Any, ...]]]:
        if workload not in _clean:
            uri = create_database(pg_template_uri, f"clean_{workload}")
            _clean[workload] = clean_tables(WORKLOADS[workload], uri, redis_url)
            assert all(_clean[workload][t] for t in ("symbols", "coverage_targets")), workload
        return _clean[workload]
    return get


def test_the_sandbox_answers_the_same_data_twice(clean, pg_template_uri: str, redis_url: str) -> None:
    """The comparisons below mean something only if a clean run is reproducible."""
    uri = create_database(pg_template_uri, "clean_again")
    assert clean_tables(WORKLOADS["daily_grouped"], uri, redis_url) == clean("daily_grouped")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_load_under_faults_ends_identical_to_a_clean_run(
        scenario: Scenario, clean, database_uri: str, redis_url: str) -> None:
    reference = clean(scenario.workload)
    outcome = run_scenario(scenario, database_uri, redis_url, reference)
    assert sum(outcome.faults_injected.values()) >= 1, "no fault fired: the scenario tests nothing"
    assert outcome.differences == {} and outcome.rows_lost == 0 and outcome.rows_extra == 0
    assert outcome.runs_to_complete in (1, 2)
    if scenario.expect == "complete":
        assert outcome.first_run_complete, outcome.summary()
    if not outcome.first_run_complete:
        # A failure says what failed; a run that "succeeded" names the tickers it could not read.
        reason = " ".join(outcome.failure) + " ".join(outcome.failed_tickers)
        assert outcome.failure or outcome.failed_tickers, outcome.summary()
        assert any(word in reason for word in ("JSON", "HTTP 500", "malformed", "truncated",
                                               *outcome.failed_tickers)), reason
    assert loaded_tables(database_uri) == reference


def test_a_429_storm_of_a_third_of_the_requests_for_a_budgeted_minute_honours_retry_after(
        clean, database_uri: str, redis_url: str) -> None:
    """≥ 30% of the requests answer 429 with Retry-After for over a minute of a 90/min budget."""
    storm = Scenario("storm", "daily_aggregates", ({"kind": "429", "every": 3, "retry_after": 0.5},),
                     polygon={"requests_per_minute": 90.0, "budget_key": "tickstock:test:storm"})
    outcome = run_scenario(storm, database_uri, redis_url, clean("daily_aggregates"))
    assert outcome.first_run_complete and outcome.rows_lost == 0, outcome.summary()
    log = outcome.requests_log
    limited = [r for r in log if r["status"] == 429]
    assert len(limited) / len(log) >= 0.30
    assert log[-1]["monotonic"] - log[0]["monotonic"] >= 60.0  # the storm lasted a minute
    # Every 429 was waited out: the same endpoint and ticker come back no sooner than Retry-After.
    for i, hit in enumerate(limited):
        nxt = next(r for r in log[log.index(hit) + 1:]
                   if r["endpoint"] == hit["endpoint"] and r["ticker"] == hit["ticker"])
        assert nxt["monotonic"] - hit["monotonic"] >= 0.5 - 0.01, (i, hit, nxt)
    # The budget counted the 429s too: never more than 90 requests in any 60 s.
    times = [r["monotonic"] for r in log]
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 90 + 1
