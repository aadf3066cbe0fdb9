"""The application database as a Dagster resource; resolves the embedded server lazily, never at import."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
from dagster import ConfigurableResource
from pydantic import Field

from tickstock_pipelines import embedded
from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.settings import load_settings, normalise_postgres_uri


@lru_cache(maxsize=16)
def _migrated(uri: str) -> str:
    upgrade(uri)
    return uri


def resolve_database_uri(uri: str | None = None) -> str:
    """The given URI, else the embedded server under TICKSTOCK_HOME; migrated once per process."""
    home = load_settings().tickstock_home
    resolved = normalise_postgres_uri(uri) if uri else embedded.embedded_postgres_uri(home)
    return _migrated(resolved)


class DatabaseResource(ConfigurableResource):
    """PostgreSQL holding symbols, bars and cache entries (EnvVar('DATABASE_URI') or the embedded server)."""

    uri: str | None = Field(default=None, description="libpq URI, EnvVar('DATABASE_URI'); unset or empty → "
                                                      "embedded")

    def get_uri(self) -> str:
        return resolve_database_uri(self.uri)

    def get_engine(self) -> sa.Engine:
        return get_engine(self.get_uri())

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on error."""
        with self.get_engine().begin() as conn:
            yield conn
