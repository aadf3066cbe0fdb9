"""Apply the Alembic migrations idempotently, under an advisory lock so two first starts cannot race."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from tickstock_pipelines.db.engine import get_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
VERSION_TABLE = "tickstock_alembic_version"  # Dagster keeps its own alembic_version; never share it
_MIGRATION_LOCK_KEY = 0x7453_0001  # arbitrary, constant: pg_advisory_lock key for migrations


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(uri: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to call from every process at start-up."""
    with get_engine(uri).connect() as conn:
        conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        try:
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            conn.commit()


def current_revision(uri: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(uri).connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
