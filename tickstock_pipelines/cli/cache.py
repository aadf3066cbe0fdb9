"""`tickstock cache rebuild` (a Dagster run on the instance) and `tickstock cache report` (reads the DB)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

_TICKER = re.compile(r"^(?=[A-Z0-9.]*[A-Z0-9])[A-Z0-9.]{1,10}\Z")  # loading.requests.TICKER_PATTERN
_ENVIRONMENT_HELP = "cache_entries.environment (default DEFAULT)"
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_-]{1,20}\Z")  # cache_entries.environment is varchar(20)


def _environment(value: str) -> str:
    if not _ENVIRONMENT.match(value):
        raise argparse.ArgumentTypeError(f"{value[:30]!r}: 1-20 characters of A-Z, a-z, 0-9, '_' and '-'")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("cache", help="rebuild or report on the TickStock cache entries")
    commands = parser.add_subparsers(dest="cache_command", required=True, metavar="SUBCOMMAND")

    rebuild = commands.add_parser("rebuild", help="rebuild every cache-entry family (a Dagster run)",
                                  description="Rebuild every cache-entry family from symbols in one atomic "
                                              "commit, then notify Redis. Replace mode by default.")
    rebuild.add_argument("--no-delete", action="store_true",
                         help="append mode: upsert only; entries the rebuild does not produce stay")
    rebuild.add_argument("--verbose", action="store_true", help="per-family counts, changes and timings")
    rebuild.add_argument("--config", metavar="FILE",
                         help="definitions laid over the shipped ones (default: $TICKSTOCK_CACHE_CONFIG)")
    rebuild.add_argument("--environment", default="DEFAULT", type=_environment, help=_ENVIRONMENT_HELP)
    rebuild.set_defaults(func=rebuild_handler)

    report = commands.add_parser("report", help="verify the cache against symbols (counts, freshness, "
                                                "coverage, quality, recommendations)")
    report.add_argument("--symbols", metavar="A,B", help="also show where these tickers appear")
    report.add_argument("--json", action="store_true", help="print the report as one JSON document")
    report.add_argument("--config", metavar="FILE", help="cache definitions used for the quality checks")
    report.add_argument("--environment", default="DEFAULT", type=_environment, help=_ENVIRONMENT_HELP)
    report.set_defaults(func=report_handler)


def _config_path(value: str | None) -> str | None:
    """Validate the definitions before a run is even created: a bad file writes nothing."""
    from tickstock_pipelines.cache.config import load_config

    path = str(Path(value).expanduser().resolve()) if value else None
    load_config(path)
    return path


def _total(metadata: dict[str, dict[str, Any]], key: str) -> int:
    return sum(int(m.get(key) or 0) for m in metadata.values())


def rebuild_handler(args: argparse.Namespace) -> int:
    from tickstock_pipelines.cache.config import CacheConfigError
    from tickstock_pipelines.instance import run_job

    try:
        config_path = _config_path(args.config)
    except CacheConfigError as exc:
        print(f"tickstock: error: {exc}", file=sys.stderr)
        return 2
    from tickstock_pipelines.cli import database_unreachable

    if reason := database_unreachable():
        print(f"tickstock: error: {reason}", file=sys.stderr)
        return 2
    mode = "append" if args.no_delete else "replace"
    op_config: dict[str, Any] = {"mode": mode, "environment": args.environment, "verbose": args.verbose}
    if config_path:
        op_config["config_path"] = config_path
    outcome = run_job("cache_rebuild_job", run_config={"ops": {"cache_entries": {"config": op_config}}},
                      tags={"tickstock/command": "cache rebuild", "tickstock/mode": mode})
    if not outcome.success:
        from tickstock_pipelines.cli import one_line

        print(f"tickstock: error: cache rebuild failed: {one_line(Exception(outcome.error or 'run failed'))} "
              f"(run {outcome.run_id}); the previous cache is intact", file=sys.stderr)
        return 1
    metadata = outcome.asset_metadata
    families = [k for k in metadata if "entries_written" in metadata[k]]
    print(f"tickstock: cache rebuild ({mode}, {args.environment}) committed "
          f"{_total(metadata, 'entries_written')} entries for {len(families)} families: "
          f"{_total(metadata, 'rows_inserted')} new, "
          f"{_total(metadata, 'rows_updated')} changed, {_total(metadata, 'rows_unchanged')} unchanged, "
          f"{_total(metadata, 'rows_deleted') + _total(metadata, 'custom_entries_deleted')} deleted; "
          f"{_total(metadata, 'universes_changed') + _total(metadata, 'custom_universes_changed')} universes "
          f"changed (run {outcome.run_id})")
    if args.verbose:
        for family in families:
            m = metadata[family]
            print(f"  {family:<15} {m['entries_written']:>4} entries  +{m['rows_inserted']} new  "
                  f"~{m['rows_updated']} changed  -{m['rows_deleted']} deleted  "
                  f"{m['universes_changed']} universes changed "
                  f"(+{m['tickers_added']}/-{m['tickers_removed']} tickers)  {m['build_seconds']:.3f}s")
            if "bucket_sizes" in m:
                print("                  " + ", ".join(f"{k} {v}" for k, v in m["bucket_sizes"].items()))
    # Every family of the run carries the same notification outcome: read it once.
    missed = next((m["missed_notifications"] for m in metadata.values() if m.get("missed_notifications")),
                  None)
    if missed:
        print(f"tickstock: warning: Redis unavailable, {len(missed)} notifications recorded in "
              f"missed_notifications; the cache is committed ({missed[0]['error']})", file=sys.stderr)
    return 0


def _tickers(text: str | None) -> list[str] | None:
    if not text:
        return None
    # ASCII before upper-casing ('ß'.upper() is 'SS'), the same rule as a load's tickers.
    tickers = [t.strip().upper() if t.isascii() else t.strip() for t in text.split(",") if t.strip()]
    bad = [t for t in tickers if not _TICKER.match(t)]
    if bad or not tickers:
        raise ValueError(f"malformed ticker {bad[0] if bad else text!r}: 1-10 characters of A-Z, 0-9 and '.'")
    return list(dict.fromkeys(tickers))


def report_handler(args: argparse.Namespace) -> int:
    from tickstock_pipelines.cache.config import CacheConfigError, load_config
    from tickstock_pipelines.cache.report import build_report, render_json, render_text
    from tickstock_pipelines.resources import DATABASE, in_force

    try:
        tickers = _tickers(args.symbols)
        config = load_config(args.config)
    except (ValueError, CacheConfigError) as exc:
        print(f"tickstock: error: {exc}", file=sys.stderr)
        return 2
    from tickstock_pipelines.cli import database_unreachable

    if reason := database_unreachable():
        print(f"tickstock: error: {reason}", file=sys.stderr)
        return 2
    report = build_report(in_force(DATABASE).get_engine(), config, environment=args.environment,
                          symbols_filter=tickers)
    print(render_json(report) if args.json else render_text(report))
    _deliver_missed()
    return 0


def _deliver_missed() -> None:
    """A command that sends nothing of its own still delivers what Redis missed: oldest
    first, once. A load and a rebuild do it before their own messages, the daemon on a sensor tick."""
    from tickstock_pipelines.notifications import deliver_missed
    from tickstock_pipelines.resources import DATABASE, REDIS, in_force

    if delivered := deliver_missed(in_force(REDIS), in_force(DATABASE)):
        print(f"tickstock: delivered {delivered} missed notifications", file=sys.stderr)

