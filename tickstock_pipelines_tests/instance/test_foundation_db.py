"""Migrations and the embedded services on real PostgreSQL and Redis."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tickstock_pipelines.db.engine import get_engine
from tickstock_pipelines.db.migrate import current_revision, upgrade
from tickstock_pipelines.settings import normalise_postgres_uri

EXPECTED_TABLES = {
    "symbols", "ohlcv_daily", "ohlcv_minute", "cache_entries",
    "load_requests", "coverage_targets", "splits", "missed_notifications",
}


def _tables(uri: str) -> set[str]:
    return set(sa.inspect(get_engine(uri)).get_table_names())


def test_migrations_create_contract_tables_and_are_idempotent(database_uri: str) -> None:
    assert EXPECTED_TABLES <= _tables(database_uri)
    upgrade(database_uri)
    upgrade(database_uri)
    assert current_revision(database_uri) is not None
    columns = {c["name"] for c in sa.inspect(get_engine(database_uri)).get_columns("symbols")}
    for required in ("symbol", "type", "active", "market_cap", "sic_code", "sector", "industry", "etf_type",
                     "issuer", "aum_millions", "expense_ratio", "daily_volume_avg", "last_updated"):
        assert required in columns


def test_cache_entries_unique_key(database_uri: str) -> None:
    insert = sa.text("INSERT INTO cache_entries (type, name, key, value) VALUES ('a','b','c','[]')")
    with get_engine(database_uri).begin() as conn:
        conn.execute(insert)
    with pytest.raises(sa.exc.IntegrityError), get_engine(database_uri).begin() as conn:
        conn.execute(insert)


def test_concurrent_first_migration_does_not_race(pg_template_uri: str) -> None:
    """Two processes starting on an empty database at once: the advisory lock serialises them."""
    from tickstock_pipelines_tests.support.services import admin_connect

    conn = admin_connect(pg_template_uri)
    with conn.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "race_db" WITH (FORCE)')
        cur.execute('CREATE DATABASE "race_db"')
    conn.close()
    uri = pg_template_uri.replace("/tickstock_template?", "/race_db?")
    errors: list[BaseException] = []

    def run() -> None:
        try:
            upgrade(uri)
        except BaseException as exc:  # collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert EXPECTED_TABLES <= _tables(uri)


def test_plain_postgresql_uri_is_normalised() -> None:
    assert normalise_postgres_uri("postgresql://u@/db?host=/s") == "postgresql+psycopg2://u@/db?host=/s"
    assert normalise_postgres_uri("postgres://u:p@h:5/db") == "postgresql+psycopg2://u:p@h:5/db"
    assert normalise_postgres_uri("postgresql+psycopg2://x") == "postgresql+psycopg2://x"


def test_a_percent_encoded_socket_directory_reaches_the_server(database_uri: str) -> None:
    """libpq's `postgresql://user@%2Fsocket%2Fdir/db` works for DATABASE_URI."""
    from urllib.parse import parse_qs, quote, urlsplit

    parts = urlsplit(database_uri)
    socket_dir = parse_qs(parts.query)["host"][0]
    encoded = f"postgresql://postgres@{quote(socket_dir, safe='')}{parts.path}"
    assert "%2F" in encoded and "?" not in encoded
    with get_engine(encoded).connect() as conn:
        assert conn.execute(sa.text("SELECT current_database()")).scalar_one() == parts.path.lstrip("/")


def test_embedded_redis_serves_every_process(redis_url: str) -> None:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", f"import redis; print(redis.Redis.from_url({redis_url!r}).ping())"],
        capture_output=True, text=True, check=True,
    )
    assert out.stdout.strip() == "True"
