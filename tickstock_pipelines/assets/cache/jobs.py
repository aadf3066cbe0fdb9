"""`cache_rebuild_job`: every family in one run (one transaction), with their checks."""

from dagster import AssetSelection, define_asset_job

from tickstock_pipelines.assets.cache.specs import GROUP
from tickstock_pipelines.notifications.channels import NOTIFIED_BY_CACHE, NOTIFIED_BY_TAG

cache_rebuild_job = define_asset_job(
    name="cache_rebuild_job",
    selection=AssetSelection.groups(GROUP),
    tags={NOTIFIED_BY_TAG: NOTIFIED_BY_CACHE},  # the asset announces the outcome, the sensors do not
    description="Rebuild every cache-entry family from symbols in one atomic commit, then notify Redis. "
                "Run config ops.cache_entries.config: mode (replace|append), environment, config_path.",
)
