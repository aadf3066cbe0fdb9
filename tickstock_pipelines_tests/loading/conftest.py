"""Loading: load requests, planning, the bar store, ETF rules, sectors and the packaged reference data."""
