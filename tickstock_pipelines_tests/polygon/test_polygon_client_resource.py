"""PolygonResource: nothing read or started until a run asks for a client; a key (an EnvVar in the
definitions) selects the real API, no key selects the sandbox, and callers can tell which. The client
reads no variable itself: the resource's fields are all there is."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagster import Definitions, EnvVar, asset

from tickstock_pipelines import settings as settings_module
from tickstock_pipelines.loading.sectors import load_sector_map
from tickstock_pipelines.loading.symbols_sync import fetch_details
from tickstock_pipelines.resources import POLYGON, in_force
from tickstock_pipelines.resources.polygon import PolygonResource, PolygonRetriesExhausted
from tickstock_pipelines_tests.support.fake_polygon import CANARY, DETAILS_OK, FakePolygon
from tickstock_sandbox import SANDBOX_API_KEY
from tickstock_sandbox import detached as detached_module


@pytest.fixture
def fake() -> Iterator[FakePolygon]:
    server = FakePolygon()
    server.routes["/v3/reference/tickers/AAPL"] = lambda q: DETAILS_OK
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_constructing_reads_no_environment_and_starts_nothing(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKSTOCK_HOME", str(tmp_path))

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("read or started at construction time")

    monkeypatch.setattr(settings_module, "load_settings", forbidden)
    monkeypatch.setattr(detached_module, "ensure_sandbox", forbidden)

    @asset
    def probe(polygon: PolygonResource) -> None:
        pass

    resource = PolygonResource()
    Definitions(assets=[probe], resources={"polygon": resource}).get_repository_def()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(AssertionError, match="construction time"):
        resource.get_client()  # the environment is read here, inside the run


def test_without_a_key_the_client_uses_the_homes_sandbox(redis_url: str, test_home: Path) -> None:
    with PolygonResource(redis_url=redis_url).get_client() as client:
        assert client.sandbox is True
        assert client.base_url == detached_module.ensure_sandbox(test_home)
        assert client._session.headers["Authorization"] == f"Bearer {SANDBOX_API_KEY}"
        details = client.ticker_details("AAPL")
        assert details is not None and details.name == "Apple Inc."


def test_without_a_key_the_given_base_url_still_wins(fake: FakePolygon, redis_url: str) -> None:
    with PolygonResource(base_url=fake.base_url, redis_url=redis_url).get_client() as client:
        assert client.sandbox is True and client.ticker_details("AAPL") is not None
    assert fake.requests[0]["auth"] == f"Bearer {SANDBOX_API_KEY}"


def test_key_url_and_budget_come_from_the_definitions_variables_at_run_time(
        fake: FakePolygon, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resource the definitions register, resolved as a run (or `tickstock load`) resolves it."""
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)  # set after the resource was built at import
    monkeypatch.setenv("POLYGON_BASE_URL", fake.base_url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "120")
    monkeypatch.setenv("REDIS_URL", redis_url)
    with in_force(POLYGON).get_client() as client:
        assert client.sandbox is False and client.base_url == fake.base_url
        assert client._limiter is not None and client._limiter.interval == 0.5
        assert client.ticker_details("AAPL") is not None
    assert fake.requests[0]["auth"] == f"Bearer {CANARY}"


def test_the_client_reads_no_variable_of_its_own(fake: FakePolygon, redis_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Variables reach the client only through the fields: a resource without them is the sandbox at
    its own pace, whatever the environment says."""
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    monkeypatch.setenv("POLYGON_BASE_URL", fake.base_url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "120")
    with PolygonResource(redis_url=redis_url).get_client() as client:
        assert client.sandbox is True and client.base_url != fake.base_url
        assert client._limiter is not None and client._limiter.requests_per_minute == 60_000
    assert fake.requests == []


@pytest.mark.parametrize("budget", ["fast", "0", "-5", "nan"])
def test_a_bad_budget_is_one_line_before_any_call(fake: FakePolygon, redis_url: str, budget: str) -> None:
    resource = PolygonResource(api_key=CANARY, base_url=fake.base_url, redis_url=redis_url,
                               requests_per_minute=budget)
    one_line = r"^POLYGON_REQUESTS_PER_MINUTE must be a (positive )?number, got"
    with pytest.raises(ValueError, match=one_line) as exc:
        resource.get_client()
    assert "\n" not in str(exc.value) and CANARY not in str(exc.value)
    assert fake.requests == []


def test_explicit_fields_win_over_the_environment(fake: FakePolygon, redis_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTHER_POLYGON_KEY", CANARY)
    monkeypatch.setenv("POLYGON_BASE_URL", "http://127.0.0.1:9")
    resource = PolygonResource(api_key=EnvVar("OTHER_POLYGON_KEY"), base_url=fake.base_url,
                               requests_per_minute="6000", redis_url=redis_url, timeout_seconds=3,
                               max_retries=1, budget_key="test:budget:explicit")
    with resource.process_config_and_initialize_cm() as initialised:  # resolves EnvVar, as a run does
        with initialised.get_client() as client:
            assert client.sandbox is False and client._limiter is not None
            assert client._limiter.interval == pytest.approx(0.01) and client._timeout == 3
            assert client.ticker_details("AAPL") is not None
    assert fake.requests[0]["auth"] == f"Bearer {CANARY}"


def test_the_time_allowed_for_429s_reaches_the_client(fake: FakePolygon, redis_url: str) -> None:
    """rate_limited_max_seconds is a resource setting: a run can bound how long it waits out 429s."""
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (429, {"status": "ERROR"}, {"Retry-After": "0.1"})
    resource = PolygonResource(api_key=CANARY, base_url=fake.base_url, redis_url=redis_url,
                               requests_per_minute="100000", rate_limited_max_seconds=0.3, max_retries=1)
    with resource.get_client() as client, pytest.raises(PolygonRetriesExhausted,
                                                        match=r"longer than the 0\.3 s allowed"):
        client.ticker_details("AAPL")
    assert len(fake.requests) > 2  # more than max_retries=1 allows: 429s are bounded by time


@pytest.mark.parametrize(("budget", "sandbox", "in_flight"), [
    ("", False, 4), ("5", False, 4), ("600", False, 4), ("6000", False, 20), ("100000", False, 32),
    ("", True, 4), ("6000", True, 20)])
def test_requests_in_flight_follow_the_budget(fake: FakePolygon, redis_url: str, budget: str, sandbox: bool,
                                              in_flight: int) -> None:
    """Unset, the in-flight count is what keeps the budget busy at a 0.2 s round trip (4 to 32): the
    free plan and the unthrottled sandbox keep 4; a set `concurrency` wins."""
    key = {} if sandbox else {"api_key": CANARY}
    resource = PolygonResource(**key, base_url=fake.base_url, redis_url=redis_url, requests_per_minute=budget)
    with resource.get_client() as client:
        assert client.concurrency == in_flight
    with resource.model_copy(update={"concurrency": 7}).get_client() as client:
        assert client.concurrency == 7


def test_a_paid_budget_keeps_more_than_four_details_calls_in_flight(fake: FakePolygon,
                                                                   redis_url: str) -> None:
    """At 6,000 a minute and a slow round trip the details calls overlap: with 4 in flight they could not
    reach the 100 a second the budget allows."""
    flying, peak, lock = [0], [0], threading.Lock()

    def slow(query: dict) -> tuple[int, Any, dict[str, str]]:
        with lock:
            flying[0] += 1
            peak[0] = max(peak[0], flying[0])
        time.sleep(0.4)
        with lock:
            flying[0] -= 1
        return DETAILS_OK

    tickers = [f"T{i}" for i in range(40)]
    for ticker in tickers:
        fake.routes[f"/v3/reference/tickers/{ticker}"] = slow
    resource = PolygonResource(api_key=CANARY, base_url=fake.base_url, redis_url=redis_url,
                               requests_per_minute="6000", budget_key="test:budget:in-flight")
    with resource.get_client() as client:
        rows, result = fetch_details(client, tickers, load_sector_map(None))
    assert len(result.fetched) == 40 and len(fake.requests) == 40
    assert 4 < peak[0] <= 20
