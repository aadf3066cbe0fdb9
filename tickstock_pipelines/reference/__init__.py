"""Reference data shipped in the package (users do not have the source repository's shared data)."""

from tickstock_pipelines.reference.constituents import Constituent, financials, sp500
from tickstock_pipelines.reference.etfs import EtfRef, etfs
from tickstock_pipelines.reference.indexes import (
    INDEXES,
    IndexMember,
    OtherStock,
    dow30,
    nasdaq100,
    other_stocks,
)
from tickstock_pipelines.reference.sic import sic_codes, sic_for

__all__ = [
    "INDEXES", "Constituent", "EtfRef", "IndexMember", "OtherStock", "dow30", "etfs", "financials",
    "nasdaq100", "other_stocks", "sic_codes", "sic_for", "sp500",
]
