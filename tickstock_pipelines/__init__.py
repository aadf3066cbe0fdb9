"""TickStock pipelines: Polygon.io market data → PostgreSQL → TickStock cache entries."""
