"""The cache_entries rebuild: families, configuration, the atomic commit and the cache assets."""
