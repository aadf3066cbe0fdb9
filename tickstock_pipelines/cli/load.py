"""`tickstock load`: validate and resolve the request, then one Dagster run on the instance; wait for it.

The symbols asked for become `symbols` partitions here (the CLI is who added them, as the run's tags
say), so the run loads symbols, bars and ETF metadata in one go. It does not rebuild the cache: the
automation or `tickstock cache rebuild` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tickstock_pipelines.loading.request import LoadRequest, Resolved, Window

PRIORITIES = ("low", "normal", "high")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "load", help="load symbols and their bars (a Dagster run)",
        description="Load a universe, a symbol list or a CSV of symbols with N years or months of bars.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--universe", metavar="KEY[,KEY]", help="sp500, nasdaq100, dow30, all_etfs, all_stocks "
                      "or a universe key already in cache_entries (top_50, mega_cap, ai, …); several, "
                      "comma-separated, load their union in one run (all_stocks,all_etfs: the whole market)")
    what.add_argument("--symbols", metavar="A,B,C", help="comma-separated tickers")
    what.add_argument("--symbols-csv", metavar="FILE", help="CSV with a symbol (or Symbol) column")
    history = parser.add_mutually_exclusive_group()
    history.add_argument("--years", type=float, metavar="Y", help="0 < Y ≤ 10, fractions allowed (default 1)")
    history.add_argument("--months", type=int, metavar="M", help="1..120")
    parser.add_argument("--timespan", choices=("day", "minute"), default="day")
    parser.add_argument("--priority", choices=PRIORITIES, default="normal")
    parser.add_argument("--sector-map", metavar="FILE", help="SIC sector map laid over the shipped one "
                        "(default: $TICKSTOCK_SECTOR_MAP)")
    parser.add_argument("--etf-rules", metavar="FILE", help="ETF rules laid over the shipped ones "
                        "(default: $TICKSTOCK_ETF_RULES)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan (symbols new and known, calls "
                        "by endpoint, time at the request budget) and stop: no details or bar call, nothing "
                        "written, no run")
    parser.set_defaults(func=load_handler)


def _config_files(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Run config for the user's sector map and ETF rules, validated before a run exists (a bad file
    writes nothing); the environment variables count too, so the run shows which file it used."""
    from tickstock_pipelines.loading.etf_rules import ETF_RULES_FILE, load_etf_rules
    from tickstock_pipelines.loading.sectors import SECTOR_MAP_FILE, load_sector_map

    ops: dict[str, dict[str, Any]] = {}
    if sector_map := SECTOR_MAP_FILE.user_path(args.sector_map):
        sector_map = str(Path(sector_map).resolve())
        load_sector_map(sector_map)
        ops["symbols"] = {"sector_map_path": sector_map}
    if etf_rules := ETF_RULES_FILE.user_path(args.etf_rules):
        etf_rules = str(Path(etf_rules).resolve())
        load_etf_rules(etf_rules)
        ops["etf_metadata"] = {"etf_rules_path": etf_rules}
    return ops


def _error(message: str) -> int:
    print(f"tickstock: error: {message}", file=sys.stderr)
    return 2


def load_handler(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from tickstock_pipelines.cli import one_line, unreachable
    from tickstock_pipelines.config_file import ConfigFileError
    from tickstock_pipelines.loading.request import LoadRequest, Window, resolve
    from tickstock_pipelines.loading.requests import LoadInputError
    from tickstock_pipelines.market_calendar import last_completed_session
    from tickstock_pipelines.resources import DATABASE, POLYGON, in_force
    from tickstock_pipelines.resources.polygon import PolygonError

    try:
        files = _config_files(args)
    except ConfigFileError as exc:
        return _error(str(exc))
    csv_path = str(Path(args.symbols_csv).expanduser().resolve()) if args.symbols_csv else None
    request = LoadRequest(universe=args.universe, symbols=args.symbols, symbols_csv=csv_path,
                          timespan=args.timespan, priority=args.priority)
    window = Window.of(args.years, args.months)  # reaches the run as its tag, checked here first
    client = None
    try:
        engine = in_force(DATABASE).get_engine()
        with engine.connect() as conn:
            def polygon_client() -> Any:
                nonlocal client
                client = client or in_force(POLYGON).get_client()
                return client
            resolved = resolve(request, conn, last_completed_session(), polygon_client, window=window)
            if args.dry_run:
                return _dry_run(conn, resolved, client)
    except LoadInputError as exc:
        return _error(str(exc))
    except sa.exc.OperationalError as exc:
        return _error(unreachable(exc))
    except PolygonError as exc:
        return _error(f"Polygon: {one_line(exc)}")
    finally:
        if client is not None:
            client.close()
    return _launch(request, resolved, files, window)


def _dry_run(conn: Any, resolved: Resolved, client: Any) -> int:
    """Print the plan of this load; only the ticker list of a listed universe has been asked for."""
    from tickstock_pipelines.loading.load_plan import plan_load
    from tickstock_pipelines.market_calendar import last_completed_session
    from tickstock_pipelines.resources import POLYGON, in_force
    from tickstock_pipelines.settings import requests_per_minute

    pages = client.calls["tickers"] if client is not None else 0
    again = resolved.etf_list_pages
    which = "" if again == pages else f"the {again} pages of all_etfs "
    note = (f"{pages} pages asked now to resolve {resolved.universe}; the load asks them again"
            + (f" (and {which}once more in its run: ETF rows come from the list)" if again else "")
            ) if pages else ""
    polygon = in_force(POLYGON)  # the budget a run would pace itself by
    try:
        budget = requests_per_minute(polygon.requests_per_minute, sandbox=not polygon.api_key)
    except ValueError as exc:
        return _error(str(exc))
    plan = plan_load(conn, [resolved], last_completed_session(), budget_per_minute=budget, list_note=note,
                     list_calls=pages + again)
    print(f"tickstock: dry run of {_what(resolved)}: nothing written, no run launched")
    for line in plan.lines():
        print(f"tickstock: {line}" if not line.startswith("  ") else line)
    return 0


def _what(resolved: Resolved) -> str:
    asked = resolved.universe or f"{len(resolved.symbols)} symbols"
    return f"load {asked}, {resolved.timespan} bars from {resolved.start}"


def _launch(request: LoadRequest, resolved: Resolved, files: dict[str, dict[str, Any]],
            window: Window | None) -> int:
    from tickstock_pipelines.notifications import NOTIFIED_BY_CLI, NOTIFIED_BY_TAG
    from tickstock_pipelines.orchestration.launch import launch_load

    described = _request(request, resolved, window)
    launched = launch_load(request, resolved, tags={NOTIFIED_BY_TAG: NOTIFIED_BY_CLI}, ops=files,
                           on_abort=lambda instance, exc: _notify_aborted(instance, exc, described),
                           window=window)
    outcome, tickers = launched.outcome, resolved.symbols
    symbols_meta = outcome.asset_metadata.get("symbols", {})
    unknown = list(symbols_meta.get("unknown_tickers") or [])
    failed = dict(symbols_meta.get("failed_reasons") or {})
    if not outcome.success:
        from tickstock_pipelines.instance import get_instance

        return _failed(get_instance(), outcome, described)

    bars = "ohlcv_daily" if resolved.timespan == "day" else "ohlcv_minute"
    from tickstock_pipelines.assets.bar_metadata import run_totals

    # the run's totals, recorded on the run (each partition's materialization has only its own symbol's)
    bars_meta = {**outcome.asset_metadata.get(bars, {}), **run_totals(outcome.run_tags, bars)}
    # bars a symbol still lacks after the retries fail the load like its details would (the rest is committed)
    failed |= {s: f"bars: {why}" for s, why in dict(bars_meta.get("failed_symbols") or {}).items()
               if s not in failed}
    loaded = len(tickers) - len(unknown) - len(failed)
    sandbox = " [SANDBOX DATA: POLYGON_API_KEY is unset]" if bars_meta.get("sandbox") else ""
    summary = (f"loaded {loaded} of {len(tickers)} symbols ({symbols_meta.get('details_fetched', 0)} details "
               f"fetched); {bars}: {bars_meta.get('rows_inserted', 0)} rows new, "
               f"{bars_meta.get('rows_updated', 0)} changed, {bars_meta.get('api_calls', 0)} API calls; "
               f"run {outcome.run_id}")
    print(f"tickstock: {summary}{sandbox}")
    if delisted := _delisted(tickers):
        print("tickstock: delisted, stored inactive with their bars up to their last session: " + ", ".join(
            f"{symbol} (delisted {day or 'on an unknown date'})" for symbol, day in delisted))
    if unknown:
        print(f"tickstock: warning: unknown to Polygon, skipped: {', '.join(unknown)}", file=sys.stderr)
    details = {**described, "symbols": {"requested": len(tickers), "loaded": loaded, "unknown": unknown,
                                        "failed": failed},
               "bars": {"asset": bars, "rows_inserted": bars_meta.get("rows_inserted", 0),
                        "rows_updated": bars_meta.get("rows_updated", 0),
                        "api_calls": bars_meta.get("api_calls", 0)},
               "sandbox": bool(bars_meta.get("sandbox"))}
    if failed:  # the rest is loaded and committed, but this was not a success
        from tickstock_pipelines.cli import one_line
        from tickstock_pipelines.loading.symbols_sync import failures_line

        reason = one_line(Exception(f"loaded {loaded} of {len(tickers)} symbols; {len(failed)} failed: "
                                    f"{failures_line(failed)}"))
        print(f"tickstock: error: {reason} (run {outcome.run_id})", file=sys.stderr)
        _notify(outcome.run_id, success=False, summary=summary, error=reason, **details)
        return 1
    _notify(outcome.run_id, success=True, summary=summary, **details)
    return 0


def _delisted(tickers: tuple[str, ...]) -> list[tuple[str, Any]]:
    """(symbol, delisting date) of the requested tickers stored inactive, whether this run or an earlier
    one found them delisted."""
    import sqlalchemy as sa

    from tickstock_pipelines.resources import DATABASE, in_force

    with in_force(DATABASE).get_engine().connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(
            "SELECT symbol, delisted_date FROM symbols WHERE symbol = ANY(:t) AND NOT active ORDER BY 1"),
            {"t": list(tickers)})]


def _request(request: LoadRequest, resolved: Resolved, window: Window | None) -> dict[str, Any]:
    """What was asked, for the admin message."""
    from tickstock_pipelines.loading.request import Window

    source = {"universe": "universe", "csv": "symbols_csv"}.get(resolved.source, "symbols")
    window = window or Window()
    return {"command": "load", "request": {
        "source": source, "universe": request.universe, "symbols_csv": request.symbols_csv,
        "tickers": len(resolved.symbols), "years": window.years, "months": window.months,
        "timespan": request.timespan, "priority": request.priority}}


def _failed(instance: Any, outcome: Any, request: dict[str, Any]) -> int:
    """The run failed: its first step failure in one line (not Dagster's "Execution of step … failed")."""
    from tickstock_pipelines.cli import one_line
    from tickstock_pipelines.notifications import first_step_error

    reason = one_line(Exception(first_step_error(instance, outcome.run_id) or outcome.error or "run failed"))
    print(f"tickstock: error: load failed: {reason} (run {outcome.run_id})", file=sys.stderr)
    _notify(outcome.run_id, success=False, summary=f"load failed: {reason}", error=reason, **request)
    return 1


def _notify_aborted(instance: Any, exc: BaseException, request: dict[str, Any]) -> None:
    """The run_job call itself ended in an exception (Ctrl-C, a storage error). If this process's run has
    ended, publish its failure now; if it is still STARTED, the reaper publishes it once this process is
    gone (publishing here too would send it twice)."""
    import os

    from dagster import DagsterRunStatus, RunsFilter

    from tickstock_pipelines.cli import one_line
    from tickstock_pipelines.instance import PID_TAG
    from tickstock_pipelines.notifications import NOTIFIED_BY_CLI, NOTIFIED_BY_TAG

    try:
        mine = RunsFilter(tags={PID_TAG: str(os.getpid()), NOTIFIED_BY_TAG: NOTIFIED_BY_CLI})
        runs = instance.get_runs(mine, limit=1)
        run_id = runs[0].run_id if runs else None
        if runs and runs[0].status in (DagsterRunStatus.STARTED, DagsterRunStatus.STARTING):
            return
    except Exception:  # the instance is what broke: still say the load failed
        run_id = None
    reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else one_line(exc)
    _notify(run_id, success=False, summary=f"load failed: {reason}", error=reason, **request)


def _notify(run_id: str | None, *, success: bool, summary: str, error: str | None = None,
            **details: Any) -> None:
    """This run's outcome on admin_notifications, once (the run-status sensors skip runs tagged
    notified_by=cli). Redis down: recorded in missed_notifications, said on stderr; the exit status stays
    the load's."""
    from tickstock_pipelines.cli import one_line
    from tickstock_pipelines.notifications import load_message, notify_admin

    message = load_message(run_id, success=success, summary=summary, error=error, **details)
    try:
        delivery = notify_admin(message, run_id=run_id)
    except Exception as exc:  # neither Redis nor the database took it
        print(f"tickstock: warning: the admin notification could not be sent or recorded: {one_line(exc)}",
              file=sys.stderr)
        return
    if delivery.missed:
        print(f"tickstock: warning: Redis unavailable, the admin notification was recorded in "
              f"missed_notifications ({delivery.missed[0]['error']})", file=sys.stderr)
