"""`etf_metadata`: issuer, underlying index and correlation reference by documented name rules, and
liquidity (30-session average volume and dollar volume) from the stored bars. AUM and expense ratio
stay NULL unless an API figure exists: they are never invented."""


import sqlalchemy as sa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    asset,
)
from pydantic import Field

from tickstock_pipelines.assets.metadata import markdown_table
from tickstock_pipelines.loading.etf_rules import ETF_RULES_FILE, EtfRulesError, load_etf_rules
from tickstock_pipelines.loading.liquidity import update_etf_metadata
from tickstock_pipelines.loading.quality import share_with
from tickstock_pipelines.loading.symbols_sync import ETP_TYPES
from tickstock_pipelines.resources.database import DatabaseResource

ISSUER_CHECK = "etfs_have_an_issuer"
ISSUER_SHARE_GOAL = 0.9


class EtfMetadataConfig(Config):
    etf_rules_path: str | None = Field(
        default=None, description="ETF rules laid over the shipped ones (default: TICKSTOCK_ETF_RULES, else "
                                  "the shipped config/etf_rules.yaml)")


@asset(
    deps=["symbols", "ohlcv_daily"],
    group_name="market_data",
    kinds={"postgres"},
    owners=["team:market-data"],
    check_specs=[AssetCheckSpec(ISSUER_CHECK, asset="etf_metadata", description=(
        f"at least {ISSUER_SHARE_GOAL:.0%} of active exchange-traded products have an issuer"))],
)
def etf_metadata(context: AssetExecutionContext, config: EtfMetadataConfig,
                 database: DatabaseResource) -> MaterializeResult:
    """ETF attributes from config rules and liquidity from bars, in one transaction."""
    engine = database.get_engine()
    try:
        rules = load_etf_rules(config.etf_rules_path)
    except EtfRulesError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    outcome = update_etf_metadata(engine, rules)
    with engine.connect() as conn:
        have, total = share_with(conn, "issuer", etps=True)
        preview = conn.execute(sa.text(
            "SELECT symbol, name, etf_type, issuer, underlying_index, correlation_reference, aum_millions, "
            "daily_volume_avg FROM symbols WHERE active AND upper(type) = ANY(:t) "
            "ORDER BY avg_dollar_volume DESC NULLS LAST LIMIT 20"), {"t": sorted(ETP_TYPES)}).all()
    share = have / total if total else 1.0
    context.log.info(f"etf_metadata: {outcome.etps} ETPs, {have} with an issuer, "
                     f"{outcome.attributes_changed} "
                     f"changed; liquidity updated for {outcome.liquidity_updated} symbols")
    return MaterializeResult(
        metadata={
            "etps": outcome.etps,
            "with_issuer": have,
            "attributes_changed": outcome.attributes_changed,
            "liquidity_updated": outcome.liquidity_updated,
            "etf_rules": ETF_RULES_FILE.user_path(config.etf_rules_path) or "(shipped)",
            "preview": markdown_table(("symbol", "name", "type", "issuer", "underlying", "correlation",
                                       "aum_millions", "daily_volume_avg"), preview),
        },
        check_results=[AssetCheckResult(
            check_name=ISSUER_CHECK, passed=share >= ISSUER_SHARE_GOAL, severity=AssetCheckSeverity.WARN,
            metadata={"share": round(share, 4), "etps": total, "with_issuer": have})],
    )
