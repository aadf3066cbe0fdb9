"""Alembic environment: runs on the connection handed over by `tickstock_pipelines.db.migrate`."""

from alembic import context

from tickstock_pipelines.db.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
