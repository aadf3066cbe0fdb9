"""The Dagster instance and its storage: embedded PostgreSQL and Redis, migrations, pools, the run reaper,
the deployment files."""
