"""Every row of `symbols` in exactly one kind, so the report accounts for all of them.

Stocks are type CS ("common stocks"); ETFs type ETF; ETN, ETV and ETS are the other exchange-traded
products; ADRs (ADRC and its kin) are loaded but are not stocks here; anything else is "others", named by
its Polygon type. Inactive rows count in their kind too: the kinds add up to the row count.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

KINDS: dict[str, frozenset[str]] = {
    "common stocks": frozenset({"CS"}),
    "ETFs": frozenset({"ETF"}),
    "ETN/ETV/ETS": frozenset({"ETN", "ETV", "ETS"}),
    "ADRs": frozenset({"ADRC", "ADRP", "ADRR", "ADRW"}),
}
ALWAYS_SHOWN = ("common stocks", "ETFs")


def rows_by_kind(symbols: pd.DataFrame) -> dict[str, Any]:
    """Rows per kind (all of them), and the Polygon types counted as "others"."""
    types = symbols["type"].fillna("unknown").astype(str) if len(symbols) else pd.Series([], dtype=str)
    kinds = {kind: int(types.isin(members).sum()) for kind, members in KINDS.items()}
    others = types[~types.isin(frozenset().union(*KINDS.values()))].value_counts()
    kinds["others"] = int(others.sum())
    return {"rows_by_kind": kinds, "other_types": {str(t): int(n) for t, n in others.items()}}


def kinds_line(rows: int, kinds: dict[str, int], other_types: dict[str, int]) -> str:
    """"887 rows: 504 common stocks, 381 ETFs, 2 ADRs" (a kind with no row is left out, bar the first two)."""
    parts = [f"{n} {kind}" for kind, n in kinds.items()
             if kind != "others" and (n or kind in ALWAYS_SHOWN)]
    if kinds.get("others"):
        named = ", ".join(f"{t} {n}" for t, n in sorted(other_types.items()))
        parts.append(f"{kinds['others']} others ({named})")
    return f"{rows} rows: " + ", ".join(parts)
