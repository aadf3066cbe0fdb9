"""Historical loading: requests, sessions, call planning and writes, without Dagster."""
