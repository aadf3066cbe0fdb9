"""The Polygon resource: sandbox without a key (one detached sandbox shared by processes), API with one."""


import subprocess
import sys

import pytest
from dagster import AssetExecutionContext, EnvVar, asset, materialize

from tickstock_pipelines.resources.polygon import PolygonResource
from tickstock_sandbox import SandboxServer

CANARY = "CANARY-KEY-resource-51c2"


def test_without_a_key_every_process_shares_one_sandbox(redis_url: str) -> None:
    client = PolygonResource(redis_url=redis_url).get_client()
    assert client.sandbox
    details = client.ticker_details("AAPL")
    assert details is not None and details.name == "Apple Inc."
    code = ("from tickstock_pipelines.resources.polygon import PolygonResource;"
            f"c = PolygonResource(redis_url={redis_url!r}).get_client();"
            "print(c.base_url, c.ticker_details('MSFT').ticker)")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert other.stdout.split() == [client.base_url, "MSFT"]


def test_with_a_key_the_same_client_talks_to_the_given_api(redis_url: str,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", CANARY)
    with SandboxServer() as api:
        resource = PolygonResource(api_key=EnvVar("POLYGON_API_KEY"), base_url=api.base_url,
                                   redis_url=redis_url)

        @asset
        def probe(context: AssetExecutionContext, polygon: PolygonResource) -> None:
            client = polygon.get_client()
            assert client.ticker_details("AAPL") is not None
            context.add_output_metadata({"sandbox": client.sandbox, "calls": dict(client.calls)})

        result = materialize([probe], resources={"polygon": resource})
        assert result.success
        [event] = result.get_asset_materialization_events()
        metadata = event.step_materialization_data.materialization.metadata
        assert metadata["sandbox"].value is False and metadata["calls"].value == {"ticker_details": 1}
        logs = "\n".join(str(e) for e in result.all_events)
        assert CANARY not in logs and CANARY not in repr(resource)

