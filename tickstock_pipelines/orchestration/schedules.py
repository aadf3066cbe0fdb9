"""Operator schedules (America/New_York): weekly refresh (day bars, then minute bars in their own job, as a
job runs over one partition set), monthly full rebuild, quarterly theme review."""


from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)

from tickstock_pipelines.assets.cache.specs import GROUP as CACHE_GROUP
from tickstock_pipelines.assets.partitions import MINUTE_PARTITIONS_NAME, SYMBOL_PARTITIONS_NAME
from tickstock_pipelines.orchestration.launch import plan_launch

TIMEZONE = "America/New_York"
# Monthly: newly delisted symbols marked inactive (a dozen list calls), then the oldest details, as many
# as the request budget fetches in 45 minutes (all of them on a paid plan; 180 on the free plan).
MONTHLY_SYMBOLS = {"max_details_age_days": 0, "check_delistings": True, "details_batch_minutes": 45}
_CACHE = AssetSelection.groups(CACHE_GROUP)

weekly_refresh_job = define_asset_job(
    name="weekly_refresh_job",
    selection=AssetSelection.assets("symbols", "ohlcv_daily", "etf_metadata") | _CACHE,
    description="New members of tracked universes, latest day bars and split check for every symbol, ETF "
                "metadata, then the cache families (replace mode).",
)
weekly_minute_refresh_job = define_asset_job(
    name="weekly_minute_refresh_job",
    selection=AssetSelection.assets("ohlcv_minute"),
    description="Latest minute bars for the symbols a request asked minute history for (the "
                "`minute_symbols` partitions).",
)
monthly_full_rebuild_job = define_asset_job(
    name="monthly_full_rebuild_job",
    selection=AssetSelection.assets("symbols", "etf_metadata") | _CACHE,
    description="Newly delisted symbols marked inactive, the oldest details refreshed (as many as the budget "
                "fetches in 45 minutes), ETF metadata, and a replace-mode cache rebuild.",
)
theme_review_job = define_asset_job(
    name="theme_review_job", selection=AssetSelection.assets("theme_review"),
    description="Quarterly: theme tickers missing, inactive or delisted, and candidates (a report).",
)


def _cache(mode: str = "replace") -> dict[str, object]:
    return {"cache_entries": {"config": {"mode": mode}}}


@schedule(job=weekly_refresh_job, cron_schedule="30 17 * * 5", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Fridays 17:30 New York, after the close (and the 16:00 early closes).")
def weekly_refresh(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    keys = context.instance.get_dynamic_partitions(SYMBOL_PARTITIONS_NAME)
    if not keys:
        return SkipReason("no symbols loaded yet: load a universe first (tickstock load --universe sp500)")
    launch = plan_launch(
        keys, present=keys, selection=(), command="weekly refresh",
        run_config={"ops": {"symbols": {"config": {"refresh_tracked_universes": True}}, **_cache()}})
    return RunRequest(run_key=None, run_config=launch.run_config, tags=launch.tags)


@schedule(job=weekly_minute_refresh_job, cron_schedule="0 18 * * 5", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="Fridays 18:00 New York, after the day-bar refresh has taken its turn on the API.")
def weekly_minute_refresh(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    keys = context.instance.get_dynamic_partitions(MINUTE_PARTITIONS_NAME)
    if not keys:
        return SkipReason("no minute history asked for (tickstock load --timespan minute adds it)")
    launch = plan_launch(keys, present=keys, selection=("ohlcv_minute",), command="weekly minute refresh")
    return RunRequest(run_key=None, run_config=launch.run_config, tags=launch.tags)


@schedule(job=monthly_full_rebuild_job, cron_schedule="0 6 1 * *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="The 1st of each month, 06:00 New York: details refresh and replace-mode rebuild.")
def monthly_full_rebuild(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(
        run_config={"ops": {"symbols": {"config": MONTHLY_SYMBOLS}, **_cache("replace")}},
        tags={"tickstock/command": "monthly full rebuild", "dagster/priority": "-1"},
    )


@schedule(job=theme_review_job, cron_schedule="0 8 1 1,4,7,10 *", execution_timezone=TIMEZONE,
          default_status=DefaultScheduleStatus.RUNNING,
          description="The first day of each quarter, 08:00 New York.")
def quarterly_theme_review(context: ScheduleEvaluationContext) -> RunRequest:
    return RunRequest(tags={"tickstock/command": "quarterly theme review"})


SCHEDULES = [weekly_refresh, weekly_minute_refresh, monthly_full_rebuild, quarterly_theme_review]
JOBS = [weekly_refresh_job, weekly_minute_refresh_job, monthly_full_rebuild_job, theme_review_job]
