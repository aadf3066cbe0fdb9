"""Environment configuration, read once per process with `.env` honoured."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from dotenv import load_dotenv

DEFAULT_POLYGON_BASE_URL = "https://api.polygon.io"
DEFAULT_REQUESTS_PER_MINUTE = 5.0  # Polygon's free plan: one request every 12 s
# The sandbox is not Polygon: without an explicit budget it is not throttled, so a fresh clone's
# demo load takes seconds, not hours. An explicit POLYGON_REQUESTS_PER_MINUTE is honoured in both modes.
SANDBOX_REQUESTS_PER_MINUTE = 60_000.0


def normalise_postgres_uri(uri: str) -> str:
    """SQLAlchemy 2.1 maps plain `postgresql://` to psycopg 3; we ship psycopg2. A unix-socket directory
    written as a percent-encoded host (libpq's `postgresql://user@%2Fvar%2Frun%2Fpostgresql/db`), which
    SQLAlchemy would take for a host name, becomes the `?host=` form both understand."""
    for prefix in ("postgresql://", "postgres://"):
        if uri.startswith(prefix):
            uri = "postgresql+psycopg2://" + uri[len(prefix) :]
            break
    return _socket_host_as_query(uri)


def _socket_host_as_query(uri: str) -> str:
    parts = urlsplit(uri)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host, colon, port = hostport.partition(":")
    if not host.lower().startswith("%2f"):
        return uri
    query = [("host", unquote(host)), *([("port", port)] if colon and port else []),
             *parse_qsl(parts.query, keep_blank_values=True)]
    netloc = f"{userinfo}{at}" if at else ""
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="/"), parts.fragment))


def libpq_uri(uri: str) -> str:
    """The same URI without the SQLAlchemy driver suffix, for psycopg2.connect and libpq tools."""
    scheme, sep, rest = uri.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgresql") else uri


@dataclass(frozen=True)
class Settings:
    tickstock_home: Path
    database_uri: str | None
    polygon_api_key: str | None
    polygon_base_url: str
    requests_per_minute: float
    redis_url: str | None
    dagster_home: Path

    @property
    def sandbox(self) -> bool:
        """No key means sandbox mode: the offline Polygon-compatible service."""
        return not self.polygon_api_key


def requests_per_minute(text: str | None, *, sandbox: bool) -> float:
    """POLYGON_REQUESTS_PER_MINUTE as a number; empty means the free plan's 5 with a key, unthrottled
    against the sandbox. One line says what is wrong with any other value."""
    if not text:
        return SANDBOX_REQUESTS_PER_MINUTE if sandbox else DEFAULT_REQUESTS_PER_MINUTE
    try:
        rpm = float(text)
    except ValueError:
        raise ValueError(f"POLYGON_REQUESTS_PER_MINUTE must be a number, got {text!r}") from None
    if not rpm > 0 or rpm == float("inf"):
        raise ValueError(f"POLYGON_REQUESTS_PER_MINUTE must be a positive number, got {text!r}")
    return rpm


# What the definitions configure the resources with, as EnvVars (`tickstock_pipelines/resources/`): the
# UI shows which variable sets what (never the key's value). Dagster fails a run on an unset EnvVar, so
# `export_resource_environment` sets each one the environment lacks to "" (unset: no key is the sandbox,
# no root is api.polygon.io, no budget is the mode's default, no URI or URL is the embedded server).
RESOURCE_ENVIRONMENT = ("DATABASE_URI", "POLYGON_API_KEY", "POLYGON_BASE_URL", "POLYGON_REQUESTS_PER_MINUTE",
                        "REDIS_URL")


def export_resource_environment() -> None:
    """Give every resource variable a value (`""` when unset) for this process and the runs it starts;
    after `load_settings()`, so a `.env` file's values are the ones exported."""
    load_settings()
    for name in RESOURCE_ENVIRONMENT:
        os.environ.setdefault(name, "")


def load_settings() -> Settings:
    """Read the environment; an explicit variable always wins over `.env`."""
    load_dotenv(Path.cwd() / ".env", override=False)
    home = Path(os.environ.get("TICKSTOCK_HOME") or ".tickstock").expanduser().resolve()
    database_uri = os.environ.get("DATABASE_URI") or None
    api_key = os.environ.get("POLYGON_API_KEY") or None
    rpm = requests_per_minute(os.environ.get("POLYGON_REQUESTS_PER_MINUTE"), sandbox=not api_key)
    return Settings(
        tickstock_home=home,
        database_uri=normalise_postgres_uri(database_uri) if database_uri else None,
        polygon_api_key=api_key,
        polygon_base_url=(os.environ.get("POLYGON_BASE_URL") or DEFAULT_POLYGON_BASE_URL).rstrip("/"),
        requests_per_minute=rpm,
        redis_url=os.environ.get("REDIS_URL") or None,
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or home / "dagster").expanduser().resolve(),
    )
