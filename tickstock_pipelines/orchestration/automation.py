"""Cache families update by themselves, once, after the market data they read has changed.

They carry `AutomationCondition.eager()`: requested when etf_metadata (so symbols and bars) was updated,
but not while any of it is still in progress, so a 500-symbol backfill triggers one rebuild after it.
"""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from tickstock_pipelines.assets.cache.specs import GROUP as CACHE_GROUP

cache_automation_sensor = AutomationConditionSensorDefinition(
    name="cache_after_market_data",
    target=AssetSelection.groups(CACHE_GROUP),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Rebuilds the cache families once after loads and backfills update etf_metadata.",
)
