"""Cache-entry families as Dagster assets, checks and the rebuild job."""

from dagster import Definitions

from tickstock_pipelines.assets.cache.assets import CacheRebuildConfig, cache_entries
from tickstock_pipelines.assets.cache.checks import CACHE_CHECKS
from tickstock_pipelines.assets.cache.jobs import cache_rebuild_job

cache_defs = Definitions(assets=[cache_entries], asset_checks=CACHE_CHECKS, jobs=[cache_rebuild_job])

__all__ = ["CacheRebuildConfig", "cache_defs", "cache_entries", "cache_rebuild_job"]
