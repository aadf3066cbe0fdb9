"""Hostile input shared by the hostile-input tests and `benchmarks/fault_matrix.py`."""

from __future__ import annotations

SQL_INJECTION = (
    "AAPL'; DROP TABLE symbols; --",
    "X' OR '1'='1",
    "1; DELETE FROM cache_entries",
    "'); TRUNCATE ohlcv_daily; --",
    "\" OR \"\"=\"",
    "AAPL\x00DROP",
    "$$; DROP TABLE symbols; $$",
    "top_50'--",
    "top_50; SELECT pg_sleep(10)",
)
