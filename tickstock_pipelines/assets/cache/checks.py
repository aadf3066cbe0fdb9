"""Asset checks for the cache's success criteria, run against what is committed (re-runnable from the UI).

Each reads the cache and `symbols` afresh, with the environment and config file of the family's latest
materialization, so it judges the data the app actually reads.
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)

from tickstock_pipelines.cache import verify
from tickstock_pipelines.cache.config import CacheConfig, load_config
from tickstock_pipelines.cache.frame import read_symbols
from tickstock_pipelines.resources.database import DatabaseResource


def _inputs(context: AssetCheckExecutionContext, database: DatabaseResource, family: str):
    """(cache, symbols, config) as the family's latest materialization saw them."""
    event = context.instance.get_latest_materialization_event(AssetKey(family))
    metadata = event.asset_materialization.metadata if event and event.asset_materialization else {}
    environment = metadata["environment"].value if "environment" in metadata else "DEFAULT"
    config_path = metadata["config_path"].value if "config_path" in metadata else None
    config: CacheConfig = load_config(config_path or None)
    engine = database.get_engine()
    with engine.connect() as conn:
        return verify.read_cache(conn, environment), read_symbols(conn), config, environment


def _result(verdict: verify.Verdict, environment: str,
            severity: AssetCheckSeverity = AssetCheckSeverity.ERROR) -> AssetCheckResult:
    return AssetCheckResult(passed=verdict.passed, severity=severity, description=verdict.summary,
                            metadata={"environment": environment, **_flat(verdict.details)})


def _flat(details: dict) -> dict:
    """Metadata values must be scalars, strings or JSON: lists and dicts go as JSON."""
    return {k: MetadataValue.json(v) if isinstance(v, list | dict) else v for k, v in details.items()
            if v is not None}


@asset_check(asset="stats", name="coverage_meets_goal",
             additional_deps=["market_cap", "sector_leaders", "themes", "industry", "etf_universes"],
             description="At least 90% (`quality.coverage_goal`) of active common stocks and ETFs are in "
                         "a selective category: sector leaders, a theme or an industry group for a stock, "
                         "an ETF category other than `etf_all` for an ETF. Metadata gives each kind's figure "
                         "(market-cap buckets hold every stock with a cap by construction: not counted).")
def coverage_meets_goal(context: AssetCheckExecutionContext, database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, config, env = _inputs(context, database, "stats")
    verdict = verify.coverage(cache, symbols, config)
    return _result(verdict, env, AssetCheckSeverity.WARN)  # a soft goal: warn, do not fail the run


@asset_check(asset="market_cap", name="buckets_match_symbols",
             description="Every common stock in a market-cap bucket has a `symbols.market_cap` inside "
                         "the bucket's bounds, and every active common stock with a market cap is in "
                         "exactly one bucket.")
def buckets_match_symbols(context: AssetCheckExecutionContext,
                          database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, config, env = _inputs(context, database, "market_cap")
    return _result(verify.bucket_consistency(cache, symbols, config), env)


@asset_check(asset="sector_leaders", name="every_sector_has_leaders",
             description="Checked against TickStock's eleven sectors: each one with ranked stocks has a "
                         "non-empty `top_10_{sector}` entry and no stock has another sector name; names the "
                         "sectors without leaders and gives the share of SIC-coded stocks classified.")
def every_sector_has_leaders(context: AssetCheckExecutionContext,
                             database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, config, env = _inputs(context, database, "sector_leaders")
    return _result(verify.sector_leaders_present(cache, symbols, config), env)


@asset_check(asset="themes", name="themes_hold_only_loaded_tickers",
             description="Both theme locations list only tickers that are active in symbols.")
def themes_hold_only_loaded_tickers(context: AssetCheckExecutionContext,
                                    database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, _, env = _inputs(context, database, "themes")
    return _result(verify.themes_loaded(cache, symbols), env)


@asset_check(asset="complete", name="complete_lists_match_symbols",
             description="`all_stocks`, `all_etfs` and `all_etps` hold exactly the active common stocks "
                         "(CS), ETFs and other exchange-traded products in symbols.")
def complete_lists_match_symbols(context: AssetCheckExecutionContext,
                                 database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, config, env = _inputs(context, database, "complete")
    return _result(verify.complete_counts(cache, symbols, config), env)


@asset_check(asset="combo", name="combo_matches_symbols",
             description="`combo_test` is the top 50 common stocks by market cap then the essential ETFs "
                         "that are loaded, and `combo_test_detailed` lists the same members with the right "
                         "count, composition and member types.")
def combo_matches_symbols(context: AssetCheckExecutionContext,
                          database: DatabaseResource) -> AssetCheckResult:
    cache, symbols, config, env = _inputs(context, database, "combo")
    return _result(verify.combo_consistent(cache, symbols, config), env)


CACHE_CHECKS = [coverage_meets_goal, buckets_match_symbols, every_sector_has_leaders,
                themes_hold_only_loaded_tickers, complete_lists_match_symbols, combo_matches_symbols]
