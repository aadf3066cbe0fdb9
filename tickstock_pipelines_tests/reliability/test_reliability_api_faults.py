"""API faults injected at the sandbox during real load_job runs (real HTTP, PostgreSQL, Redis).

Each scenario's database is compared row by row with a clean run of the same workload: either the run
completes with identical data, or it fails with a clear reason and the next run completes it, with
nothing missing and nothing extra.
"""

from __future__ import annotations

from typing import Any

import pytest

from tickstock_pipelines.assets.symbols import DETAILS_CHECK
from tickstock_pipelines_tests.support.fault_scenarios import (
    FAULT_WORDS,
    MINUTE_STORMS,
    SCENARIOS,
    STORM_BUDGET,
    WORKLOADS,
    Scenario,
    retry_gaps,
)
from tickstock_pipelines_tests.support.reliability_helpers import (
    Outcome,
    clean_tables,
    loaded_tables,
    run_scenario,
)
from tickstock_pipelines_tests.support.services import create_database

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
        assert_failed_clearly(scenario, outcome)
    assert_storm(scenario, outcome)
    assert loaded_tables(database_uri) == reference


@pytest.mark.parametrize("storm", MINUTE_STORMS, ids=[s.name for s in MINUTE_STORMS])
def test_a_429_storm_of_a_third_of_the_requests_for_a_budgeted_minute(
        storm: Scenario, clean, database_uri: str, redis_url: str) -> None:
    """≥ 30% of the requests answer 429 for over a minute of a 90/min budget, with and without
    Retry-After: the load completes in its first run, within the budget."""
    outcome = run_scenario(storm, database_uri, redis_url, clean("daily_aggregates"))
    assert outcome.first_run_complete and outcome.rows_lost == 0, outcome.summary()
    assert_storm(storm, outcome)
    log = outcome.requests_log
    assert log[-1]["monotonic"] - log[0]["monotonic"] >= 60.0  # the storm lasted a minute
    # The budget counted the 429s too: never more than 90 requests in any 60 s.
    times = [r["monotonic"] for r in log]
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= STORM_BUDGET + 1


def assert_failed_clearly(scenario: Scenario, outcome: Outcome) -> None:
    """A first run that did not complete said what failed, in words taken from the scenario and the
    database, not from the outcome itself: a failed run names the faulty request and the fault; a run
    that succeeded failed its details check, naming exactly the symbols it did not store, or its
    no_missing_sessions check, naming the bars it did not fetch with the fault."""
    words = {FAULT_WORDS[str(f["kind"])] for f in scenario.faults}
    if not outcome.first_run_succeeded:
        paths = {f.get("path") or "/" for f in scenario.faults}
        assert any(path in message and word in message
                   for message in outcome.failure for path in paths for word in words), outcome.failure
        return
    bars = outcome.failed_checks.get("ohlcv_daily:no_missing_sessions")
    if bars and bars["not_fetched"] and not outcome.first_run_missing_symbols:
        # every symbol stored, some bars not: named with the fault
        for ticker, owed in bars["not_fetched"].items():
            assert owed["sessions"] and any(w in owed["reason"] for w in words), (ticker, owed)
        return
    check = outcome.failed_checks.get(f"symbols:{DETAILS_CHECK}")
    assert check is not None, ("the run succeeded with data missing, and no check failed", outcome.summary())
    assert check["failed"] == len(check["failed_reasons"]) >= 1
    assert sorted(check["failed_reasons"]) == outcome.first_run_missing_symbols, outcome.summary()
    for ticker, reason in check["failed_reasons"].items():
        assert reason.startswith("ticker details: ") and any(w in reason for w in words), (ticker, reason)


def assert_storm(scenario: Scenario, outcome: Outcome) -> None:
    """The storm was as heavy as the scenario says, and every 429 was waited out for its Retry-After."""
    log = outcome.requests_log
    assert sum(1 for r in log if r["fault"]) / len(log) >= scenario.min_fault_share, outcome.summary()
    if scenario.retry_after is None:
        return
    gaps = retry_gaps(log)
    assert gaps, "no 429 on a request with a ticker: nothing to time"
    for hit, retry in gaps:
        assert retry is not None, ("a 429 never retried", hit)
        assert retry["monotonic"] - hit["monotonic"] >= scenario.retry_after - 0.01, (hit, retry)
