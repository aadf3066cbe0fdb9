"""One multi-asset over the nine families: the selected ones are built and committed in one transaction.

Materializing one family in the UI updates just that family; `cache_rebuild_job` rebuilds them all.
Redis hears about it only after the commit; if Redis is down the run still succeeds and says so.
"""

from collections.abc import Iterator
from typing import Literal

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    multi_asset,
)
from pydantic import Field

from tickstock_pipelines.assets.cache.metadata import family_metadata
from tickstock_pipelines.assets.cache.specs import FAMILY_SPECS
from tickstock_pipelines.cache.config import load_config
from tickstock_pipelines.cache.rebuild import rebuild
from tickstock_pipelines.notifications import (
    NOTIFIED_BY_CACHE,
    NOTIFIED_BY_TAG,
    notify_committed,
    notify_rebuild_failed,
)
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.redis import RedisResource

PROTECTED_CHECK = "protected_rows_unchanged"


class CacheRebuildConfig(Config):
    mode: Literal["replace", "append"] = Field(
        default="replace",
        description="replace: afterwards the families hold exactly what this rebuild produced; "
                    "append (--no-delete): upsert only, entries this rebuild does not produce stay")
    environment: str = Field(default="DEFAULT", description="cache_entries.environment to rebuild")
    config_path: str | None = Field(
        default=None, description="cache definitions file laid over the shipped one "
                                  "(default: TICKSTOCK_CACHE_CONFIG, else the shipped file)")
    verbose: bool = Field(default=False, description="log each family's timing and changes")


@multi_asset(
    name="cache_entries",
    specs=FAMILY_SPECS,
    can_subset=True,
    check_specs=[
        AssetCheckSpec(PROTECTED_CHECK, asset=spec.key,
                       description="app_settings, cache_config, unknown types and other environments are "
                                   "byte for byte what they were (hash before and after, same transaction)")
        for spec in FAMILY_SPECS
    ],
)
def cache_entries(context: AssetExecutionContext, config: CacheRebuildConfig, database: DatabaseResource,
                  redis: RedisResource) -> Iterator[MaterializeResult]:
    families = [key.path[-1] for key in context.selected_asset_keys]
    run_id = context.run.run_id
    # The run's outcome is ours to announce only when its tag says so (cache_rebuild_job, the automation);
    # in other runs (weekly refresh, a family materialized from the UI) the run-status sensors announce it.
    announce = context.run.tags.get(NOTIFIED_BY_TAG) == NOTIFIED_BY_CACHE
    try:
        definitions = load_config(config.config_path)  # a bad file stops here, before any read or write
        log = context.log.info if config.verbose else context.log.debug
        done = rebuild(database.get_engine(), definitions, families=families, mode=config.mode,
                       environment=config.environment, log=log)
    except BaseException as exc:  # interrupted too: the run is over either way
        if announce:
            reason = "interrupted" if not isinstance(exc, Exception) else f"{type(exc).__name__}: {exc}"
            notify_rebuild_failed(redis, database, reason, mode=config.mode, environment=config.environment,
                                  families=families, run_id=run_id)
        raise

    result = done.result
    notified = notify_committed(redis, database, result, run_id=run_id, announce=announce)
    context.log.info(
        f"cache rebuild ({result.mode}, {result.environment}) committed {result.total('produced')} entries "
        f"for {', '.join(result.families)}: {result.total('inserted')} new, {result.total('updated')} "
        f"changed, {result.total('deleted')} deleted, {len(result.changes)} universes changed "
        f"in {done.seconds['total']:.3f}s")
    if notified.missed:
        context.log.warning(f"Redis unavailable: {len(notified.missed)} notifications recorded in "
                            f"missed_notifications ({notified.missed[0]['error']})")

    selected_checks = {(k.asset_key, k.name) for k in context.selected_asset_check_keys}
    for family in result.families:
        spec_key = next(s.key for s in FAMILY_SPECS if s.key.path[-1] == family)
        checks = []
        if (spec_key, PROTECTED_CHECK) in selected_checks:
            checks.append(AssetCheckResult(
                check_name=PROTECTED_CHECK, asset_key=spec_key, passed=result.protected_unchanged,
                severity=AssetCheckSeverity.ERROR,
                metadata={"protected_rows": result.protected_rows,
                          "digest_before": result.protected_digest_before,
                          "digest_after": result.protected_digest_after}))
        yield MaterializeResult(
            asset_key=spec_key,
            metadata=family_metadata(family, done.entries[family], result, notified,
                                     seconds=done.seconds[family], config_digest=definitions.digest(),
                                     config_path=config.config_path),
            check_results=checks,
        )
