"""The Polygon client and resource over real HTTP: transport, pagination, retries, the shared request budget,
response models, key redaction."""

from collections.abc import Iterator

import pytest

from tickstock_pipelines_tests.support.fake_polygon import FakePolygon


@pytest.fixture
def fake() -> Iterator[FakePolygon]:
    """A Polygon-shaped server with no routes; a module that needs routes from the start has its own."""
    server = FakePolygon()
    yield server
    server.server.shutdown()
    server.server.server_close()
