"""SQLAlchemy engines, one per URI per process (they pool connections)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa

from tickstock_pipelines.settings import normalise_postgres_uri


@lru_cache(maxsize=16)
def get_engine(uri: str) -> sa.Engine:
    return sa.create_engine(normalise_postgres_uri(uri), pool_pre_ping=True, future=True)


@contextmanager
def connect(uri: str) -> Iterator[sa.Connection]:
    """A connection inside one transaction: committed on success, rolled back on any error."""
    with get_engine(uri).begin() as conn:
        yield conn
