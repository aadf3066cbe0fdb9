"""What each symbol partition of `ohlcv_daily` / `ohlcv_minute` reports, and where a run's totals go.

A run over many partitions records one materialization per partition. Each carries its own symbol's
figures: rows inserted/updated/unchanged, the calls spent on that symbol alone, the sessions fetched for
it, its stored row count (`dagster/row_count`) and its latest bars. Totals over the run (all rows, every
call, the plan) are not copied onto each partition: they go on the run itself, as `tickstock/<asset>.<figure>`
tags that the run's page shows and `run_totals` reads back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any

import sqlalchemy as sa
from dagster import AssetExecutionContext, DagsterInstance, MetadataValue, OpExecutionContext

from tickstock_pipelines.assets.metadata import markdown_table
from tickstock_pipelines.loading.bars_store import WriteCounts
from tickstock_pipelines.loading.coverage import Gap

PREVIEW_BARS = 5
RUN_TOTALS_PREFIX = "tickstock/"
_COLUMNS = {"day": ("date", "open", "high", "low", "close", "volume"),
            "minute": ("timestamp", "open", "high", "low", "close", "volume")}


def gap_ranges(gaps: Iterable[Gap]) -> dict[str, tuple[date, date]]:
    """Per symbol, the first and last session fetched for it in this run."""
    ranges: dict[str, tuple[date, date]] = {}
    for gap in gaps:
        first, last = ranges.get(gap.symbol, (gap.first, gap.last))
        ranges[gap.symbol] = (min(first, gap.first), max(last, gap.last))
    return ranges


def stored_by_symbol(conn: sa.Connection, timespan: str,
                     keys: Sequence[str]) -> dict[str, tuple[int, MetadataValue]]:
    """Per symbol: rows stored and its latest bars (one indexed look-up per symbol, not a table scan)."""
    table = "ohlcv_daily" if timespan == "day" else "ohlcv_minute"
    columns = _COLUMNS[timespan]
    listed = ", ".join(f'b."{c}"' for c in columns)
    # Identifiers come from the fixed maps above, never from input.
    counts = dict(conn.execute(sa.text(
        f"SELECT symbol, count(*) FROM {table} WHERE symbol = ANY(:k) GROUP BY symbol"),  # noqa: S608
        {"k": list(keys)}).all())
    latest = conn.execute(sa.text(
        f"SELECT s.symbol, {listed} FROM unnest(CAST(:k AS text[])) AS s(symbol) "  # noqa: S608
        f'CROSS JOIN LATERAL (SELECT * FROM {table} t WHERE t.symbol = s.symbol ORDER BY t."{columns[0]}" '
        f"DESC LIMIT {PREVIEW_BARS}) b ORDER BY s.symbol"), {"k": list(keys)}).all()
    previews: dict[str, list[Sequence[Any]]] = {}
    for row in latest:
        previews.setdefault(row[0], []).append(row[1:])
    return {k: (int(counts.get(k, 0)), markdown_table(columns, previews.get(k, []))) for k in keys}


def symbol_figures(counts: WriteCounts, stored: tuple[int, MetadataValue],
                   fetched: tuple[date, date] | None, **extra: Any) -> dict[str, Any]:
    """One partition's own metadata: its writes, its range fetched, its stored rows and latest bars."""
    rows, preview = stored
    return {"rows_inserted": counts.inserted, "rows_updated": counts.updated,
            "rows_unchanged": counts.unchanged,
            "date_range": f"{fetched[0]} .. {fetched[1]}" if fetched else "nothing missing",
            **extra, "dagster/row_count": rows, "preview": preview}


def add_partition_metadata(context: AssetExecutionContext,
                           figures: Mapping[str, Mapping[str, Any]]) -> None:
    with partitions_read_once(context.instance):
        for key, metadata in figures.items():
            context.add_asset_metadata(dict(metadata), partition_key=key)


@contextmanager
def partitions_read_once(instance: DagsterInstance) -> Iterator[None]:
    """Inside: the instance answers the dynamic-partition look-ups from one read of each partition set.

    `add_asset_metadata(partition_key=…)` checks the key against the run's range by reading the whole
    partition set from storage, three queries a call: over the whole market's 10,000 partitions that was
    10,000 reads of 10,000 keys (hours). No partition is added or removed while a step records metadata.
    """
    read: dict[str, tuple[Sequence[str], frozenset[str]]] = {}

    def keys(partitions_def_name: str) -> tuple[Sequence[str], frozenset[str]]:
        if partitions_def_name not in read:
            found = type(instance).get_dynamic_partitions(instance, partitions_def_name)
            read[partitions_def_name] = (found, frozenset(found))
        return read[partitions_def_name]

    def get_dynamic_partitions(partitions_def_name: str) -> Sequence[str]:
        return keys(partitions_def_name)[0]

    def has_dynamic_partition(partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in keys(partitions_def_name)[1]

    patched = {"get_dynamic_partitions": get_dynamic_partitions,
               "has_dynamic_partition": has_dynamic_partition}
    before = {name: vars(instance)[name] for name in patched if name in vars(instance)}
    vars(instance).update(patched)
    try:
        yield
    finally:
        for name in patched:
            vars(instance).pop(name, None)
        vars(instance).update(before)


def record_run_totals(context: AssetExecutionContext | OpExecutionContext, asset: str,
                      totals: Mapping[str, Any]) -> None:
    """Put the run's totals on the run (tags), and say them in one log line."""
    plain = {name: v.value if isinstance(v, MetadataValue) else v for name, v in totals.items()}
    tags = {f"{RUN_TOTALS_PREFIX}{asset}.{name}": value if isinstance(value, str) else json.dumps(value)
            for name, value in plain.items()}
    context.instance.add_run_tags(context.run.run_id, tags)
    context.log.info(f"{asset} run totals: " + ", ".join(f"{k} {v}" for k, v in plain.items()))


def run_totals(tags: Mapping[str, str], asset: str) -> dict[str, Any]:
    """The totals `record_run_totals` put on a run, with numbers and JSON values decoded."""
    prefix, totals = f"{RUN_TOTALS_PREFIX}{asset}.", {}
    for tag, value in tags.items():
        if tag.startswith(prefix):
            try:
                totals[tag[len(prefix):]] = json.loads(value)
            except ValueError:
                totals[tag[len(prefix):]] = value
    return totals
