"""Cache families update by themselves, once, after the market data they read has changed.

They carry `AutomationCondition.eager()`: requested when etf_metadata (so symbols and bars) was updated,
but not while any of it is still in progress, so a 500-symbol backfill triggers one rebuild after it.
"""

from dagster import AssetSelection, AutomationConditionSensorDefinition, DefaultSensorStatus

from tickstock_pipelines.assets.cache.specs import GROUP as CACHE_GROUP
from tickstock_pipelines.notifications.channels import NOTIFIED_BY_CACHE, NOTIFIED_BY_TAG

cache_automation_sensor = AutomationConditionSensorDefinition(
    name="cache_after_market_data",
    target=AssetSelection.groups(CACHE_GROUP),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    run_tags={NOTIFIED_BY_TAG: NOTIFIED_BY_CACHE},  # the asset announces the rebuild, not the sensors
    description="Rebuilds the cache families once after loads and backfills update etf_metadata.",
)
