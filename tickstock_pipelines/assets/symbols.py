"""`symbols`: one row per ticker with Polygon's details, sector, industry and ETF type.

Details are fetched only for new symbols and those older than `max_details_age_days`; the request is
recorded so later runs (backfills, automation, schedules) know the coverage wanted. New symbols become
`symbols` partitions through the new-symbols sensor (or `tickstock load`), which launches one backfill.

A ticker the API does not know (404) is reported and skipped. A ticker whose details call failed (5xx,
timeout, request budget unreachable, after the client's retries) is reported apart, with its reason:
the rest still loads, but the run's metadata, its check and `tickstock load` say it failed.
"""


from datetime import UTC, date, datetime

import sqlalchemy as sa
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from tickstock_pipelines.assets.metadata import announce_sandbox, api_calls, listed, markdown_table
from tickstock_pipelines.loading.coverage import drop_targets, record_request, set_targets
from tickstock_pipelines.loading.load_plan import plan_load
from tickstock_pipelines.loading.progress import Progress
from tickstock_pipelines.loading.quality import share_with
from tickstock_pipelines.loading.refresh import (
    Delistings,
    details_batch_size,
    find_new_delistings,
    oldest_details,
)
from tickstock_pipelines.loading.request import LoadRequest, Resolved, Window, history_given, resolve
from tickstock_pipelines.loading.requests import LoadInputError
from tickstock_pipelines.loading.sectors import SECTOR_MAP_FILE, SectorMapError, load_sector_map
from tickstock_pipelines.loading.symbols_sync import (
    failures_line,
    fetch_details,
    find_delisted,
    needing_details,
    reclassify,
    record,
    upsert_symbols,
)
from tickstock_pipelines.loading.tracked import tracked_requests
from tickstock_pipelines.market_calendar import last_completed_session
from tickstock_pipelines.resources.database import DatabaseResource
from tickstock_pipelines.resources.polygon import PolygonClient, PolygonResource

SECTOR_CHECK = "stocks_have_a_sector"
SECTOR_SHARE_GOAL = 0.9
DETAILS_CHECK = "ticker_details_calls_succeeded"


class SymbolsConfig(LoadRequest):
    """What to load (a `LoadRequest`). Leave universe, symbols and symbols_csv empty to refresh stale
    details only."""

    max_details_age_days: float = Field(default=30.0, ge=0, description="re-fetch details older than this")
    refresh_tracked_universes: bool = Field(
        default=False, description="also re-resolve every universe requested before (weekly refresh)")
    sector_map_path: str | None = Field(
        default="", description="SIC sector map laid over the shipped one (default: TICKSTOCK_SECTOR_MAP, "
                                  "else the shipped config/sic_sectors.yaml); every stored stock follows it")
    check_delistings: bool = Field(
        default=False, description="list the active tickers (one paged call) and store stored symbols "
                                   "missing from it that the inactive list has as delisted (monthly)")
    details_batch_minutes: float | None = Field(
        default=None, gt=0, description="refresh mode: refresh only the oldest details, as many as the "
                                        "request budget fetches in this many minutes (monthly)")
    resolved_tickers: list[str] = Field(default_factory=list, description=(
        "leave empty: set by `tickstock load`, which resolved the request already (these are its tickers)"))


def _asked(config: SymbolsConfig, window: Window | None) -> bool:
    """A request was made (a history without tickers is refused by `resolve`, not ignored). The
    Launchpad's defaults (empty sources, `ONE_YEAR`) are no request: the plain Materialize button
    refreshes stale details."""
    return bool(config.universe or config.symbols or config.symbols_csv or window) or history_given(config)


def _window(context: AssetExecutionContext, end: date) -> Window | None:
    """`tickstock load --years/--months` (the run's `tickstock/history` tag), checked before anything
    else: a tag the CLI did not write (the Launchpad's tag editor) fails the run here, in one line."""
    try:
        window = Window.of_tags(context.run.tags)
        if window is not None:
            window.start(end)
    except LoadInputError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    return window


@asset(
    group_name="market_data",
    kinds={"polygon", "postgres"},
    owners=["team:market-data"],
    pool="polygon",
    check_specs=[
        AssetCheckSpec(SECTOR_CHECK, asset="symbols", description=(
            f"at least {SECTOR_SHARE_GOAL:.0%} of active stocks have a sector from their SIC code")),
        AssetCheckSpec(DETAILS_CHECK, asset="symbols", description=(
            "no ticker details call failed (5xx, timeout, request budget unreachable, after retries); "
            "tickers the API does not know (404) are reported apart and do not fail it")),
    ],
)
def symbols(context: AssetExecutionContext, config: SymbolsConfig, database: DatabaseResource,
            polygon: PolygonResource) -> MaterializeResult:
    """Ticker details, sector and industry from SIC, ETF type; only new or stale symbols are fetched."""
    end = last_completed_session()
    window = _window(context, end)
    asked = _asked(config, window)
    engine = database.get_engine()
    client = polygon.get_client()
    announce_sandbox(context, client)
    try:
        with engine.connect() as conn:
            resolved = [resolve(config, conn, end, lambda: client, config.resolved_tickers or None,
                                window)] if asked else []
            if config.refresh_tracked_universes:
                resolved += tracked_requests(conn, end, lambda: client)
        requests = resolved
        refs = {ref.ticker.upper(): ref for r in resolved for ref in r.refs}
        wanted = list(dict.fromkeys(s for r in requests for s in r.symbols))
        sectors = load_sector_map(config.sector_map_path)
        delistings, left = Delistings(), 0
        with engine.connect() as conn:
            if config.check_delistings:
                delistings = find_new_delistings(client, conn, sectors)
            if wanted:
                to_fetch, fresh = needing_details(conn, wanted, config.max_details_age_days)
            else:  # no request: refresh whatever is stale among the known symbols, oldest first
                batch = details_batch_size(client.budget_per_minute, config.details_batch_minutes,
                                           sum(client.calls.values()))
                gone = set(delistings.sync.delisted)
                known = [t for t in oldest_details(conn, None) if t not in gone]
                to_fetch, fresh = needing_details(conn, known, config.max_details_age_days)
                if batch is not None:
                    to_fetch, left = to_fetch[:batch], max(0, len(to_fetch) - batch)
            plan = _plan(conn, config, resolved, end, client) if asked else {}
        listed_rows = [record(refs[t], sectors) for t in to_fetch if t in refs]
        by_details = [t for t in to_fetch if t not in refs]
        context.log.info(f"symbols: {len(wanted)} requested, {len(fresh)} with fresh details, "
                         f"{len(by_details)} details calls to make, {len(listed_rows)} from the ticker list")
        rows, sync = fetch_details(client, by_details, sectors, _progress(context, len(by_details)))
        rows += find_delisted(client, sync, sectors) + listed_rows + delistings.rows
        known_now = {str(r["symbol"]) for r in rows} | set(fresh)
        if wanted and not (known_now & set(wanted)):  # nothing to load: refuse before writing anything
            if sync.failed:  # the calls failed: say why, never "unknown to Polygon"
                unknown = f"; {len(sync.unknown)} unknown to Polygon: {listed(sync.unknown, 10)}" \
                    if sync.unknown else ""
                raise Failure(
                    description=f"none of the {len(wanted)} requested tickers could be loaded: "
                                f"{len(sync.failed)} failed: {failures_line(sync.failed)}{unknown}",
                    metadata={"failed_reasons": MetadataValue.json(sync.failed),
                              "unknown_tickers": MetadataValue.json(sync.unknown)},
                    allow_retries=False)
            raise LoadInputError(f"none of the {len(wanted)} requested tickers is known to Polygon: "
                                 f"{listed(sync.unknown, 10)}")
        with engine.begin() as conn:  # one transaction: the rows, the request and its targets
            upsert_symbols(conn, rows)
            reclassified = reclassify(conn, sectors)  # a changed map reaches rows not fetched again
            for request in requests:
                record_request(conn, request, context.run.run_id)
                set_targets(conn, [s for s in request.symbols if s in known_now], request.timespan,
                            request.start)
            if sync.unknown:
                drop_targets(conn, sync.unknown)
            sector_have, sector_total = share_with(conn, "sector", etps=False)
            total = conn.execute(sa.text("SELECT count(*) FROM symbols")).scalar_one()
    except (LoadInputError, SectorMapError) as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    finally:
        client.close()

    if delistings.sync.delisted:
        context.log.warning(f"newly delisted, stored inactive: {listed(delistings.sync.delisted)}")
    if delistings.sync.unknown:
        context.log.warning("no longer listed as active, but not in the inactive list either (left as they "
                            f"are): {listed(delistings.sync.unknown)}")
    if sync.delisted:
        context.log.info("delisted (the ticker list has them inactive), stored inactive with their bars "
                         f"up to their last session: {listed(sync.delisted)}")
    if sync.unknown:
        context.log.warning(f"unknown to Polygon, skipped: {listed(sync.unknown)}")
    if sync.failed:
        context.log.warning(f"details calls failed for {len(sync.failed)} tickers, skipped in this request "
                            f"(stored rows kept as they were): {failures_line(sync.failed, 50)}")
    share = sector_have / sector_total if sector_total else 1.0
    new_symbols = [str(r["symbol"]) for r in rows]
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(total),
            "symbols_requested": len(wanted),
            "details_fetched": len(sync.fetched),
            "from_ticker_list": len(listed_rows),
            "details_fresh_skipped": len(fresh),
            "unknown_tickers": MetadataValue.json(sync.unknown),
            "delisted_tickers": MetadataValue.json(sync.delisted),
            "newly_delisted": MetadataValue.json(delistings.sync.delisted),
            "details_left_for_next_refresh": left,
            "failed_tickers": MetadataValue.json(sorted(sync.failed)),
            "failed_reasons": MetadataValue.json(dict(sorted(sync.failed.items()))),
            "stocks_with_sector_share": round(share, 4),
            "sectors_reclassified": reclassified,
            "sector_map": SECTOR_MAP_FILE.user_path(config.sector_map_path) or "(shipped)",
            "request": MetadataValue.json([r.describe() for r in requests]),
            **plan,
            "sandbox": client.sandbox,
            **api_calls(type(client.calls)(), client.calls),
            "preview": markdown_table(
                ("symbol", "name", "type", "sector", "industry", "market_cap"),
                [(r["symbol"], r["name"], r["type"], r["sector"], r["industry"], r["market_cap"])
                 for r in rows[:20]]),
            "updated_at": MetadataValue.timestamp(datetime.now(UTC)),
            "stored_symbols": len(new_symbols),
        },
        check_results=[
            AssetCheckResult(
                check_name=SECTOR_CHECK, passed=share >= SECTOR_SHARE_GOAL, severity=AssetCheckSeverity.WARN,
                metadata={"share": round(share, 4), "stocks": sector_total, "with_sector": sector_have}),
            AssetCheckResult(
                check_name=DETAILS_CHECK, passed=not sync.failed, severity=AssetCheckSeverity.ERROR,
                metadata={"failed": len(sync.failed), "unknown": len(sync.unknown),
                          "failed_reasons": MetadataValue.json(dict(sorted(sync.failed.items()))),
                          "unknown_tickers": MetadataValue.json(sync.unknown)}),
        ],
    )


def _plan(conn: sa.Connection, config: SymbolsConfig, resolved: list[Resolved], end: date,
          client: PolygonClient) -> dict[str, object]:
    """The asked request's plan, before its first details call (what `tickstock load --dry-run` prints)."""
    plan = plan_load(conn, resolved[:1], end, list_calls=client.calls["tickers"],
                     budget_per_minute=client.budget_per_minute,
                     max_details_age_days=config.max_details_age_days)
    return plan.metadata()


def _progress(context: AssetExecutionContext, total: int) -> Progress:
    return Progress("ticker details", total, context.log.info)
