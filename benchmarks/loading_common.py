"""What the loading benchmark's parts share: plan budgets, fresh databases on the embedded server, clients
against the sandbox, the S&P 500 tickers, and the old loader's row-by-row writer (`SeedWriter`)."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import psycopg2
import psycopg2.errors
import redis

sys.path.insert(0, str(Path(__file__).parent))
from bench_cache_rebuild import embedded_server as _shared_embedded_server

from tickstock_pipelines import embedded
from tickstock_pipelines.db.migrate import upgrade
from tickstock_pipelines.loading.bars_store import Row
from tickstock_pipelines.loading.requests import index_universe
from tickstock_pipelines.resources.polygon import PolygonClient, SharedRateLimiter
from tickstock_pipelines.settings import libpq_uri
from tickstock_sandbox import SANDBOX_API_KEY

WRITE_GOAL_ROWS_S, WRITE_GOAL_RATIO = 200_000, 10.0
FREE_PLAN_PER_MINUTE = 5
PAID_PLAN_PER_MINUTE = 6_000  # Polygon's paid plans: unlimited calls, but stay under 100 requests a second
LATENCY_MS = 100.0  # issue 4: the call scenarios run against a sandbox that answers 100 ms late
WEEK_SESSIONS = 5  # the weekly refresh: a week of sessions missing for every loaded symbol
WALL_GOAL_SECONDS, WEEKLY_AGGREGATE_CALLS_GOAL = 60.0, 6
DETAILS_MAX_AGE_DAYS = 30.0  # SymbolsConfig.max_details_age_days' default
OUR_CONCURRENCY = 4  # PolygonResource.concurrency unset, sandbox without a budget
_SEED_INSERT = (
    "INSERT INTO ohlcv_daily (symbol, date, open, high, low, close, volume, vwap, transactions) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (symbol, date) DO UPDATE SET "
    "open = EXCLUDED.open, high = EXCLUDED.high, low = EXCLUDED.low, close = EXCLUDED.close, "
    "volume = EXCLUDED.volume, vwap = EXCLUDED.vwap, transactions = EXCLUDED.transactions")
_SEED_SYMBOL = ("INSERT INTO symbols (symbol, name, type, active) VALUES (%s, %s, %s, true) "
                "ON CONFLICT (symbol) DO UPDATE SET name = EXCLUDED.name, type = EXCLUDED.type, "
                "last_updated = now()")


def fresh_database(home: Path, name: str) -> str:
    uri = embedded.embedded_postgres_uri(home, name)
    upgrade(uri)
    return uri


def embedded_server() -> AbstractContextManager[Path]:
    """bench_cache_rebuild's throwaway TICKSTOCK_HOME, but the server stops with `-m immediate`: its
    directory is deleted right after, so the shutdown checkpoint of every dirty page is wasted time."""
    return _shared_embedded_server(stop_mode="immediate")


def _client(url: str, concurrency: int, redis_client: redis.Redis | None = None) -> PolygonClient:
    """With a Redis client every request waits for its slot in a shared paid-plan budget, as in production."""
    key = f"tickstock:polygon:bench:{os.getpid()}"
    limiter = SharedRateLimiter(redis_client, PAID_PLAN_PER_MINUTE, key=key) if redis_client else None
    return PolygonClient(api_key=SANDBOX_API_KEY, base_url=url, limiter=limiter, sandbox=True,
                         timeout_seconds=30, max_retries=3, backoff_seconds=0.05, concurrency=concurrency)


def _sp500() -> list[str]:
    return list(index_universe("sp500") or ())


class SeedWriter:
    """The old loader's writes: an INSERT … ON CONFLICT DO UPDATE per row (executemany), a commit a symbol."""

    def __init__(self, uri: str) -> None:
        self.conn = psycopg2.connect(libpq_uri(uri))

    def bars(self, rows: list[Row]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(_SEED_INSERT, rows)
        self.conn.commit()

    def symbol(self, ticker: str, name: str | None, kind: str | None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(_SEED_SYMBOL, (ticker, name, kind))
        self.conn.commit()

    def close(self) -> None:
        self.conn.close()
