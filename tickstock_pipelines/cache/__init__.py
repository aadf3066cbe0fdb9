"""Cache organization as pure logic: one read of `symbols`, one builder per family, one atomic commit.

Nothing here imports Dagster; `tickstock_pipelines.assets.cache` wraps it for the UI and runs.
"""
