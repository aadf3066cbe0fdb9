"""Pytest fixtures for the Polygon sandbox, loaded for every test by the root conftest's pytest_plugins.

Each test gets its own in-process server on an ephemeral port, with the clock fixed at SANDBOX_NOW
so "the last completed session" never depends on when the suite runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from tickstock_sandbox import SANDBOX_API_KEY, SandboxConfig, SandboxServer

SANDBOX_NOW = datetime(2025, 12, 31, 22, 0, tzinfo=UTC)  # after the 16:00 ET close of Wed 2025-12-31
LAST_COMPLETED_SESSION = date(2025, 12, 31)
AUTH = {"Authorization": f"Bearer {SANDBOX_API_KEY}"}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A started sandbox (fresh data, stats and faults) whose clock is SANDBOX_NOW."""
    with SandboxServer(SandboxConfig(now=SANDBOX_NOW)) as server:
        yield server


@pytest.fixture
def live_sandbox() -> Iterator[SandboxServer]:
    """A started sandbox on the real clock, for runs and `tickstock` subprocesses that load up to today's
    last completed session."""
    with SandboxServer(SandboxConfig()) as server:
        yield server


@pytest.fixture
def sandbox_url(sandbox: SandboxServer) -> str:
    return sandbox.base_url


@pytest.fixture
def sandbox_client(sandbox: SandboxServer):
    """Our Polygon client pointed at `sandbox`: no budget, quick retries."""
    from tickstock_pipelines.resources.polygon import PolygonClient

    client = PolygonClient(api_key=SANDBOX_API_KEY, base_url=sandbox.base_url, limiter=None, sandbox=True,
                           timeout_seconds=5.0, max_retries=3, backoff_seconds=0.01)
    yield client
    client.close()


def api_get(base_url: str, path_or_url: str, params: dict | None = None, *, timeout: float = 10.0,
            headers: dict | None = None):
    """GET a sandbox path (or an absolute next_url) with the bearer key, as the client would."""
    import requests

    url = path_or_url if path_or_url.startswith("http") else f"{base_url}{path_or_url}"
    return requests.get(url, params=params, headers=AUTH if headers is None else headers, timeout=timeout)
