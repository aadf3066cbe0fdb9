"""Database access: engines and the migration entry point."""

from tickstock_pipelines.db.engine import connect, get_engine
from tickstock_pipelines.db.migrate import upgrade

__all__ = ["connect", "get_engine", "upgrade"]
