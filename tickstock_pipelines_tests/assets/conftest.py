"""The market-data assets (symbols, ohlcv_daily, ohlcv_minute, etf_metadata) materialised against the
sandbox, with their checks and metadata."""
