"""Dagster resources: the database, Redis and the Polygon API."""
