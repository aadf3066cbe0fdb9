"""A canary key is searched everywhere it could leak: log records at DEBUG (ours and urllib3's),
exception text and tracebacks, reprs, the terminal, and a real Dagster run's event log, run record,
job snapshot and asset metadata."""

import logging
import traceback
from datetime import date

import pytest
from dagster import AssetExecutionContext, EnvVar, asset, instance_for_test, materialize, serialize_value

from tickstock_pipelines.resources.polygon import PolygonError, PolygonResource
from tickstock_pipelines_tests.support.fake_polygon import CANARY, FakePolygon, make_client

LEAKY = {"status": "ERROR", "request_id": "r", "error": f"bad key {CANARY}",
         "next_url": f"http://example.invalid/?apiKey={CANARY}"}


def _everything(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + str(vars(exc))


def test_canary_never_reaches_logs_errors_or_reprs(fake: FakePolygon, caplog: pytest.LogCaptureFixture,
                                                   capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    pages = iter([
        (200, {"status": "OK", "results": [{"ticker": "AAPL"}],
               "next_url": f"{fake.base_url}/v3/reference/tickers?cursor=2&apiKey={CANARY}"}, {}),
    ])
    fake.routes["/v3/reference/tickers"] = lambda q: next(pages, (500, LEAKY, {}))
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (500, LEAKY, {})
    fake.routes["/v3/reference/tickers/MSFT"] = lambda q: (403, LEAKY, {})
    fake.routes["/v3/reference/tickers/NVDA"] = lambda q: (200, f'{{"results": "{CANARY}'.encode(), {})
    fake.routes["/v3/reference/tickers/META"] = lambda q: (429, LEAKY, {"Retry-After": "0.05"})  # forever
    fake.routes["/v3/reference/tickers/TSLA"] = lambda q: (200, {"results": {"ticker": "TSLA",
                                                                             "list_date": CANARY}}, {})
    fake.routes["/v2/aggs/ticker/AMZN/range/1/day/2025-11-24/2025-11-25"] = lambda q: (
        200, {"results": [{"t": 1763960400000, "o": CANARY, "h": 1, "l": 1, "c": 1, "v": 1}]}, {})
    client = make_client(fake.base_url, max_retries=2, rate_limited_max_seconds=0.2)
    failures: list[BaseException] = []
    for call in (lambda: list(client.list_tickers()), lambda: client.ticker_details("AAPL"),
                 lambda: client.ticker_details("MSFT"), lambda: client.ticker_details("NVDA"),
                 lambda: client.ticker_details("TSLA"), lambda: client.ticker_details("META")):
        with pytest.raises(PolygonError) as failure:
            call()
        failures.append(failure.value)
    [page] = client.aggregates("AMZN", "day", date(2025, 11, 24), date(2025, 11, 25))
    assert page.rejected and page.rejected[0].ticker == "AMZN"
    fake.server.shutdown()
    fake.server.server_close()
    with pytest.raises(PolygonError) as refused:
        client.ticker_details("AAPL")
    failures.append(refused.value)

    assert "cursor=2" in caplog.text and "retry" in caplog.text  # the logs did record these requests
    assert "***" in str(failures[2])  # the 403's message was kept, with the key masked
    assert "rate limited" in str(failures[5]) and "***" in str(failures[5])  # so was the endless 429's
    assert all(f.__cause__ is None and (f.__context__ is None or f.__suppress_context__) for f in failures)
    for text in (caplog.text, *(_everything(f) for f in failures), repr(client), str(client),
                 repr(page.rejected), *capfd.readouterr()):
        assert CANARY not in text
    assert all(CANARY not in r["raw"] for r in fake.requests)


def test_resource_repr_hides_a_literal_key() -> None:
    resource = PolygonResource(api_key=CANARY, base_url="http://127.0.0.1:9")
    assert CANARY not in repr(resource) and CANARY not in str(resource)
    assert "base_url='http://127.0.0.1:9'" in repr(resource)


def test_canary_never_reaches_the_dagster_run(fake: FakePolygon, redis_url: str,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capfd: pytest.CaptureFixture[str]) -> None:
    """A 500 storm fails one asset; another succeeds with metadata. Nothing the run stored has the key,
    set as the definitions set it: an EnvVar (the resource reads no variable of its own)."""
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    fake.routes["/v3/reference/tickers/AAPL"] = lambda q: (
        200, {"status": "OK", "results": {"ticker": "AAPL", "name": "Apple Inc."}}, {})
    fake.routes["/v3/reference/tickers/MSFT"] = lambda q: (500, LEAKY, {})
    options = {"base_url": fake.base_url, "redis_url": redis_url, "max_retries": 2, "backoff_seconds": 0.01,
               "requests_per_minute": "100000", "api_key": EnvVar("POLYGON_API_KEY")}

    @asset
    def details_ok(context: AssetExecutionContext, polygon: PolygonResource) -> None:
        with polygon.get_client() as client:
            details = client.ticker_details("AAPL")
            context.log.info(f"client {client!r} read {details}")
            context.add_output_metadata({"sandbox": client.sandbox, "calls": dict(client.calls),
                                         "client": repr(client), "resource": repr(polygon)})

    @asset(deps=[details_ok])
    def details_storm(polygon: PolygonResource) -> None:
        with polygon.get_client() as client:
            client.ticker_details("MSFT")

    overrides = {"python_logs": {"python_log_level": "DEBUG",
                                 "managed_python_loggers": ["tickstock_pipelines.resources.polygon.client",
                                                            "urllib3"]}}
    with instance_for_test(overrides=overrides) as instance:
        result = materialize([details_ok, details_storm], resources={"polygon": PolygonResource(**options)},
                             instance=instance, raise_on_error=False)
        assert not result.success
        [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        assert "HTTP 500 after 3 attempts" in str(failure.event_specific_data.error)  # the right failure
        [materialized] = result.get_asset_materialization_events()
        metadata = materialized.step_materialization_data.materialization.metadata
        assert metadata["sandbox"].value is False and metadata["calls"].value == {"ticker_details": 1}

        records = instance.all_logs(result.run_id)
        stored = [serialize_value(record) for record in records]
        assert any("retry 1 of 2" in text for text in stored)  # our own log lines did reach the event log
        run = instance.get_run_by_id(result.run_id)
        assert run is not None
        stored += [serialize_value(run), serialize_value(instance.get_job_snapshot(run.job_snapshot_id)),
                   serialize_value(metadata)]
        for text in (*stored, *capfd.readouterr()):
            assert CANARY not in text
