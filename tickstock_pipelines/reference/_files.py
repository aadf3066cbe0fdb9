"""Read the packaged CSV files (the package works from a wheel: no paths outside it)."""

from __future__ import annotations

import csv
from importlib.resources import files


def read_rows(name: str) -> list[dict[str, str]]:
    with files(__package__).joinpath(name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def number(text: str | None) -> float | None:
    """Empty cells are gaps in the published data: they stay None, never 0."""
    return float(text) if text and text.strip() else None
