"""The packaged reference data behind the sandbox: complete mappings, real index lists, real ETPs."""

from __future__ import annotations

import re

from tickstock_pipelines.reference import dow30, etfs, nasdaq100, other_stocks, sic_codes, sic_for, sp500
from tickstock_pipelines.reference._files import read_rows
from tickstock_pipelines_tests.support.sandbox_fixtures import api_get
from tickstock_sandbox import SandboxServer


def test_every_gics_sub_industry_maps_to_a_real_sic_code() -> None:
    for constituent in sp500():
        code, description = sic_for(constituent.gics_sub_industry)
        assert re.fullmatch(r"\d{4}", code) and description == description.upper()
    assert sic_for("Semiconductors") == ("3674", "SEMICONDUCTORS & RELATED DEVICES")
    assert sic_for("Diversified Banks") == ("6021", "NATIONAL COMMERCIAL BANKS")
    assert sic_for("Application Software")[0] == sic_for("Systems Software")[0] == "7372"
    assert sic_for("Property & Casualty Insurance")[0] == "6331"
    assert sic_for("Data Center REITs") == ("6798", "REAL ESTATE INVESTMENT TRUSTS")
    assert len(sic_codes()) >= 127


def test_index_lists_are_complete_and_known_to_the_sandbox(sandbox: SandboxServer) -> None:
    nasdaq, dow = {m.symbol for m in nasdaq100()}, {m.symbol for m in dow30()}
    assert len(nasdaq) == 100 and len(dow) == 30
    assert {"AAPL", "MSFT", "NVDA", "ASML", "ARM", "PDD", "MELI", "TEAM", "CCEP"} <= nasdaq
    assert {"AAPL", "NVDA", "SHW", "AMZN", "JPM", "GS"} <= dow and not {"INTC", "WBA", "DOW"} & dow
    in_sp500 = {c.symbol for c in sp500()}
    assert dow <= in_sp500
    outside = nasdaq - in_sp500
    assert outside and outside <= {s.symbol for s in other_stocks()}
    for symbol in sorted(nasdaq | dow):
        details = api_get(sandbox.base_url, f"/v3/reference/tickers/{symbol}").json()["results"]
        assert details["active"] and details["type"] in {"CS", "ADRC"}
    for symbol in sorted(outside - {"EA"}):
        details = api_get(sandbox.base_url, f"/v3/reference/tickers/{symbol}").json()["results"]
        assert details["market_cap"] > 1e10 and details["sic_code"] and details["primary_exchange"] == "XNAS"


def test_etfs_are_real_products_with_polygon_types_and_no_invented_figures(sandbox: SandboxServer) -> None:
    rows = read_rows("etfs.csv")
    assert not {"aum", "aum_millions", "expense_ratio"} & set(rows[0])
    products = etfs()
    tickers = [e.ticker for e in products]
    assert len(tickers) == len(set(tickers)) >= 300
    assert {e.type for e in products} == {"ETF", "ETN", "ETV", "ETS"}
    assert {e.category for e in products} >= {"broad_market", "sector", "growth", "value", "technology",
                                              "bond", "commodity", "international", "dividend", "thematic",
                                              "leveraged", "inverse"}
    by_ticker = {e.ticker: e for e in products}
    assert by_ticker["VXX"].type == "ETN" and by_ticker["SPY"].issuer == "State Street Global Advisors"
    assert {"SPY", "IVV", "VOO", "VTI", "XLK", "XLF", "XLE", "XLV", "GLD", "SLV", "USO", "DBC", "EFA", "EEM",
            "VEA", "VWO", "ARKK", "BOTZ", "ICLN", "TQQQ", "SQQQ", "AGG", "BND", "TLT"} <= set(tickers)
    listed = {}
    for kind in ("ETF", "ETN", "ETV", "ETS"):
        page = api_get(sandbox.base_url, "/v3/reference/tickers", {"type": kind, "limit": 1000}).json()
        listed |= {item["ticker"]: item["type"] for item in page["results"]}
    assert listed == {e.ticker: e.type for e in products}
