"""The atomic commit of a rebuild: one transaction, serialised, exact, and explained.

- Replace mode: afterwards the environment holds exactly the entries this rebuild produced for the
  families it built (for a full rebuild: for every family-owned type, so orphans like a stale
  `stock_etf_combo` go too). Append mode only upserts.
- Rows whose value is unchanged are not rewritten: `created_at` is when the key first appeared,
  `updated_at` is when its value last changed. A rebuild from unchanged symbols writes nothing.
- Rows of other types or environments are never in a statement's scope; a hash taken before and
  after inside the transaction proves it, and a difference rolls everything back.
- `pg_advisory_xact_lock` serialises concurrent rebuilds; readers see the old cache or the new one.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa

from tickstock_pipelines.cache.entries import FAMILY_OWNED_TYPES, CacheEntry, tickers_of
from tickstock_pipelines.cache.families import FAMILY_NAMES, family_of

Mode = Literal["replace", "append"]
# One lock for every rebuild of every environment: rebuilds are rare and fast, so never run two at once.
ADVISORY_LOCK_KEY = 7_468_230_451  # "tickstock cache" in spirit; any constant bigint works
UNOWNED = "unowned"  # family-owned types no family builds (custom universes, stock_etf_combo)


@dataclass(frozen=True)
class UniverseChange:
    """A universe whose membership changed: created, changed or deleted (every ticker removed)."""

    type: str
    name: str
    key: str
    status: Literal["created", "changed", "deleted"]
    added: list[str]
    removed: list[str]

    @property
    def ident(self) -> str:
        return f"{self.type}|{self.name}|{self.key}"


@dataclass
class CommitResult:
    mode: Mode
    environment: str
    families: list[str]
    committed_at: datetime | None = None
    # per family (plus "unowned"): produced, inserted, updated, unchanged, deleted
    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    changes: list[UniverseChange] = field(default_factory=list)
    protected_rows: int = 0
    protected_digest_before: str = ""
    protected_digest_after: str = ""

    def total(self, what: str) -> int:
        return sum(c[what] for c in self.counts.values())

    @property
    def protected_unchanged(self) -> bool:
        return self.protected_digest_before == self.protected_digest_after

    def changes_for(self, family: str) -> list[UniverseChange]:
        return [c for c in self.changes if (family_of(c.type, c.name) or UNOWNED) == family]


class ProtectedRowsChanged(RuntimeError):
    """Raised inside the transaction, so nothing is committed."""


_PROTECTED_DIGEST = sa.text(
    """
    SELECT count(*), md5(coalesce(string_agg(
             concat_ws('|', id, type, name, key, environment, value::text, created_at, updated_at),
             E'\\n' ORDER BY id), ''))
      FROM cache_entries
     WHERE NOT (environment = :env AND type = ANY(:owned))
    """
)
_EXISTING = sa.text(
    """
    SELECT c.id, c.type, c.name, c.key, n.type IS NOT NULL AS produced,
           n.value IS NOT NULL AND c.value = n.value AS same
      FROM cache_entries c
      LEFT JOIN cache_new n ON n.type = c.type AND n.name = c.name AND n.key = c.key
     WHERE c.environment = :env AND c.type = ANY(:owned)
    """
)
_OLD_VALUES = sa.text("SELECT id, value FROM cache_entries WHERE id = ANY(:ids)")
_UPSERT = sa.text(
    """
    INSERT INTO cache_entries (type, name, key, value, environment)
    SELECT type, name, key, value, :env FROM cache_new
    ON CONFLICT (type, name, key, environment) DO UPDATE
       SET value = EXCLUDED.value, updated_at = now()
     WHERE cache_entries.value IS DISTINCT FROM EXCLUDED.value
    """
)
_DELETE = sa.text("DELETE FROM cache_entries WHERE id = ANY(:ids)")


def protected_digest(conn: sa.Connection, environment: str) -> tuple[int, str]:
    """(rows, md5) over every row a rebuild of `environment` must not touch, bookkeeping columns included."""
    count, digest = conn.execute(
        _PROTECTED_DIGEST, {"env": environment, "owned": list(FAMILY_OWNED_TYPES)}).one()
    return int(count), str(digest)


def _stage(conn: sa.Connection, entries: list[CacheEntry]) -> None:
    """COPY the new entries into a temp table: one round trip, whatever the size."""
    conn.execute(sa.text(
        "CREATE TEMP TABLE cache_new (type varchar(50), name varchar(100), key varchar(100), value jsonb,"
        " PRIMARY KEY (type, name, key)) ON COMMIT DROP"))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for e in entries:
        writer.writerow((e.type, e.name, e.key, json.dumps(e.value, separators=(",", ":"), allow_nan=False)))
    buffer.seek(0)
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.copy_expert("COPY cache_new (type, name, key, value) FROM STDIN WITH (FORMAT csv)", buffer)


def _diff(status: Literal["created", "changed", "deleted"], entry: tuple[str, str, str],
          old: Any, new: Any) -> UniverseChange | None:
    """Membership change of one universe; None for non-universe values or unchanged membership."""
    old_tickers = tickers_of(old) if old is not None else []
    new_tickers = tickers_of(new) if new is not None else []
    if old_tickers is None or new_tickers is None:
        return None
    old_set, new_set = set(old_tickers), set(new_tickers)
    added = [t for t in new_tickers if t not in old_set]
    removed = [t for t in old_tickers if t not in new_set]
    if status == "changed" and not added and not removed:
        return None
    return UniverseChange(*entry, status=status, added=added, removed=removed)


def _delete_rows(conn: sa.Connection, ids: list[int]) -> None:
    if ids:
        conn.execute(_DELETE, {"ids": ids})


def commit_entries(
    engine: sa.Engine,
    entries_by_family: Mapping[str, list[CacheEntry]],
    *,
    mode: Mode = "replace",
    environment: str = "DEFAULT",
) -> CommitResult:
    """Write the families' entries in one transaction; see the module docstring for the rules."""
    if mode not in ("replace", "append"):
        raise ValueError(f"mode must be replace or append, got {mode!r}")
    families = list(entries_by_family)
    entries = [e for family in families for e in entries_by_family[family]]
    new = {(e.type, e.name, e.key): e for e in entries}
    if len(new) != len(entries):
        dupes = Counter(e.ident for e in entries) - Counter(set(e.ident for e in entries))
        raise ValueError(f"duplicate cache entries: {sorted(dupes)[:5]}")
    full = set(families) >= set(FAMILY_NAMES)
    result = CommitResult(mode, environment, families)
    for family in families:
        result.counts[family]["produced"] = len(entries_by_family[family])

    with engine.begin() as conn:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        result.protected_rows, result.protected_digest_before = protected_digest(conn, environment)
        _stage(conn, entries)
        params = {"env": environment, "owned": list(FAMILY_OWNED_TYPES)}
        existing = conn.execute(_EXISTING, params).all()

        present, changed_ids, delete_ids = set(), {}, {}
        for row in existing:
            ident = (row.type, row.name, row.key)
            family = family_of(row.type, row.name) or UNOWNED
            if row.produced:
                present.add(ident)
                if row.same:
                    result.counts[family]["unchanged"] += 1
                else:
                    result.counts[family]["updated"] += 1
                    changed_ids[row.id] = ident
            elif mode == "replace" and (full or family in families):
                result.counts[family]["deleted"] += 1
                delete_ids[row.id] = ident
        for ident in new.keys() - present:
            result.counts[family_of(ident[0], ident[1]) or UNOWNED]["inserted"] += 1

        wanted = list(changed_ids) + list(delete_ids)
        old_values = dict(conn.execute(_OLD_VALUES, {"ids": wanted}).all()) if wanted else {}
        conn.execute(_UPSERT, {"env": environment})
        _delete_rows(conn, list(delete_ids))

        for ident in sorted(new.keys() - present):
            change = _diff("created", ident, None, new[ident].value)
            if change:
                result.changes.append(change)
        for row_id, ident in changed_ids.items():
            change = _diff("changed", ident, old_values[row_id], new[ident].value)
            if change:
                result.changes.append(change)
        for row_id, ident in delete_ids.items():
            change = _diff("deleted", ident, old_values[row_id], None)
            result.changes.append(change or UniverseChange(*ident, status="deleted", added=[], removed=[]))

        _, result.protected_digest_after = protected_digest(conn, environment)
        if not result.protected_unchanged:
            raise ProtectedRowsChanged("rows outside the rebuild's scope changed; rolled back")
        result.committed_at = conn.execute(sa.text("SELECT now()")).scalar_one()
    result.changes.sort(key=lambda c: c.ident)
    return result
