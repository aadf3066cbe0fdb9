"""GICS sub-industry → a real SEC SIC code and its official description (SEC EDGAR spelling)."""

from __future__ import annotations

from functools import cache

from tickstock_pipelines.reference._files import read_rows


@cache
def sic_codes() -> dict[str, tuple[str, str]]:
    return {r["gics_sub_industry"]: (r["sic_code"], r["sic_description"]) for r in read_rows("sic_codes.csv")}


def sic_for(gics_sub_industry: str) -> tuple[str, str] | None:
    """(sic_code, sic_description), or None for a sub-industry the table does not know."""
    return sic_codes().get(gics_sub_industry)
