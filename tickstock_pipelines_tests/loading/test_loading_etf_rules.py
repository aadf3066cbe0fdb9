"""ETF issuer, underlying index and correlation reference from name rules, checked against real ETFs.
What is never produced, overrides and bad files are in test_loading_etf_rules_files.py."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickstock_pipelines import reference
from tickstock_pipelines.loading.etf_rules import (
    EtfAttributes,
    EtfRules,
    load_etf_rules,
)
from tickstock_pipelines.loading.requests import TICKER_PATTERN

# Rows of reference/etfs.csv whose issuer the name rules cannot tell (the name carries no brand);
# the shipped file's per-ticker overrides supply them.
NAME_RULE_DISAGREEMENTS = {"AMLP": (None, "ALPS")}  # "Alerian MLP ETF"

# Products for which no benchmark fits: volatility futures, a currency, crypto, metals without a fund.
NO_BENCHMARK = {"UVXY", "SVXY", "VXX", "VXZ", "BITO", "UUP", "PPLT", "PALL", "UNG"}


@pytest.fixture(scope="module")
def rules() -> EtfRules:
    return load_etf_rules()


# --- issuer ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "issuer"), [
    ("iShares Core S&P 500 ETF", "BlackRock"),
    ("SPDR S&P 500 ETF Trust", "State Street Global Advisors"),
    ("Technology Select Sector SPDR Fund", "State Street Global Advisors"),
    ("SPDR Gold Shares", "State Street Global Advisors"),
    ("Vanguard Total Stock Market ETF", "Vanguard"),
    ("Invesco QQQ Trust Series 1", "Invesco"),
    ("Schwab U.S. Dividend Equity ETF", "Charles Schwab"),
    ("ProShares UltraPro QQQ", "ProShares"),
    ("Direxion Daily TSLA Bull 2X Shares", "Direxion"),
    ("ARK Innovation ETF", "ARK Investment Management"),
    ("Global X Uranium ETF", "Global X"),
    ("VanEck Semiconductor ETF", "VanEck"),
    ("WisdomTree Cloud Computing Fund", "WisdomTree"),
    ("First Trust NASDAQ Cybersecurity ETF", "First Trust"),
    ("JPMorgan Equity Premium Income ETF", "JPMorgan Asset Management"),
    ("JPMorgan Alerian MLP Index ETN", "JPMorgan Chase"),
    ("Fidelity MSCI Energy Index ETF", "Fidelity"),
    ("iPath Series B S&P 500 VIX Short-Term Futures ETN", "Barclays"),
    ("ETRACS Alerian MLP Infrastructure Index ETN Series B", "UBS"),
    ("United States Oil Fund LP", "USCF Investments"),
    ("U.S. Global Jets ETF", "U.S. Global Investors"),
    ("Avantis U.S. Small Cap Value ETF", "American Century Investments"),
    ("Xtrackers Harvest CSI 300 China A-Shares ETF", "DWS"),
    ("Goldman Sachs ActiveBeta U.S. Large Cap Equity ETF", "Goldman Sachs Asset Management"),
    ("Alerian MLP ETF", None),
    ("ishares core s&p 500 etf", None),  # brands are matched as written
    ("Shares of Something", None),
    ("ARKANSAS Municipal Fund", None),
])
def test_issuer(rules: EtfRules, name: str, issuer: str | None) -> None:
    assert rules.from_name(name).issuer == issuer


def test_issuer_rules_agree_with_the_reference_etfs(rules: EtfRules) -> None:
    products = reference.etfs()
    disagreements = {
        etf.ticker: (found, etf.issuer)
        for etf in products
        if (found := rules.from_name(etf.name).issuer) != etf.issuer
    }
    agreement = 1 - len(disagreements) / len(products)
    assert len(products) > 390
    assert agreement >= 0.95
    assert disagreements == NAME_RULE_DISAGREEMENTS
    # With the shipped overrides every product gets the issuer the reference data names.
    assert all(rules.attributes(etf.ticker, etf.name).issuer == etf.issuer for etf in products)


# --- underlying index -----------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "index"), [
    ("SPDR S&P 500 ETF Trust", "S&P 500"),
    ("ProShares UltraPro S&P500", "S&P 500"),
    ("iShares S&P 500 Growth ETF", "S&P 500 Growth"),
    ("Invesco S&P 500 High Dividend Low Volatility ETF", "S&P 500 High Dividend Low Volatility"),
    ("SPDR S&P MidCap 400 ETF Trust", "S&P MidCap 400"),
    ("SPDR Portfolio S&P 400 Mid Cap ETF", "S&P MidCap 400"),
    ("iShares S&P Mid-Cap 400 Growth ETF", "S&P MidCap 400 Growth"),
    ("iShares Core S&P Small-Cap ETF", "S&P SmallCap 600"),
    ("Invesco QQQ Trust Series 1", "Nasdaq-100"),
    ("Invesco NASDAQ 100 ETF", "Nasdaq-100"),
    ("First Trust NASDAQ-100 Technology Sector Index Fund", "Nasdaq-100 Technology Sector"),
    ("Fidelity Nasdaq Composite Index ETF", "Nasdaq Composite"),
    ("iShares Russell 2000 ETF", "Russell 2000"),
    ("iShares Russell 1000 Value ETF", "Russell 1000 Value"),
    ("iShares Russell Mid-Cap Growth ETF", "Russell Midcap Growth"),
    ("ProShares UltraPro Russell2000", "Russell 2000"),
    ("SPDR Dow Jones Industrial Average ETF Trust", "Dow Jones Industrial Average"),
    ("ProShares Short Dow30", "Dow Jones Industrial Average"),
    ("iShares MSCI EAFE ETF", "MSCI EAFE"),
    ("iShares Core MSCI EAFE ETF", "MSCI EAFE IMI"),
    ("iShares MSCI Emerging Markets ETF", "MSCI Emerging Markets"),
    ("iShares MSCI ACWI ex U.S. ETF", "MSCI ACWI ex USA"),
    ("iShares MSCI Japan ETF", "MSCI Japan"),
    ("Vanguard Total Stock Market ETF", "CRSP US Total Market"),
    ("Vanguard Small-Cap Value ETF", "CRSP US Small Cap Value"),
    ("Vanguard Mega Cap ETF", "CRSP US Mega Cap"),
    ("Vanguard Growth ETF", "CRSP US Large Cap Growth"),
    ("Technology Select Sector SPDR Fund", "Technology Select Sector"),
    ("iShares 7-10 Year Treasury Bond ETF", "ICE U.S. Treasury 7-10 Year"),
    ("iShares 20+ Year Treasury Bond ETF", "ICE U.S. Treasury 20+ Year"),
    ("iShares Core U.S. Aggregate Bond ETF", "Bloomberg US Aggregate"),
    ("SPDR Gold Shares", "LBMA Gold Price"),
    ("iPath Series B S&P 500 VIX Short-Term Futures ETN", "S&P 500 VIX Short-Term Futures"),
    ("ARK Innovation ETF", None),
    ("SPDR S&P Biotech ETF", None),
    ("Vanguard Information Technology ETF", None),
])
def test_underlying_index(rules: EtfRules, name: str, index: str | None) -> None:
    assert rules.from_name(name).underlying_index == index


def test_shipped_indexes_feed_the_cache_categories(rules: EtfRules) -> None:
    # cache_config.yaml's etf_broad_market matches underlying indexes '^S&P 500$',
    # '^CRSP US Total Market' and '^Russell (1000|2000|3000)$': the rules must produce exactly those.
    found = {e.ticker: rules.attributes(e.ticker, e.name).underlying_index for e in reference.etfs()}
    assert found["SPY"] == found["IVV"] == found["VOO"] == "S&P 500"
    assert found["VTI"] == "CRSP US Total Market"
    assert (found["IWB"], found["IWM"], found["IWV"]) == ("Russell 1000", "Russell 2000", "Russell 3000")


# --- correlation reference ------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "correlation"), [
    ("SPDR S&P 500 ETF Trust", "SPY"),
    ("Invesco QQQ Trust Series 1", "QQQ"),
    ("ProShares UltraPro Short QQQ", "QQQ"),
    ("iShares Russell 2000 ETF", "IWM"),
    ("Direxion Daily Small Cap Bull 3X Shares", "IWM"),
    ("SPDR Dow Jones Industrial Average ETF Trust", "DIA"),
    ("iShares Core U.S. Aggregate Bond ETF", "AGG"),
    ("iShares J.P. Morgan USD Emerging Markets Bond ETF", "AGG"),
    ("iShares 20+ Year Treasury Bond ETF", "TLT"),
    ("JPMorgan Ultra-Short Income ETF", "AGG"),
    ("Invesco High Yield Equity Dividend Achievers ETF", "SPY"),  # equity, despite "High Yield"
    ("SPDR Gold Shares", "GLD"),
    ("VanEck Gold Miners ETF", "GLD"),
    ("iShares MSCI EAFE ETF", "EFA"),
    ("Vanguard FTSE All-World ex-US Small-Cap ETF", "EFA"),  # international before small-cap
    ("iShares MSCI Emerging Markets ETF", "EEM"),
    ("Xtrackers Harvest CSI 300 China A-Shares ETF", "EEM"),
    ("Vanguard Total World Stock ETF", "ACWI"),
    ("Direxion Daily TSLA Bull 2X Shares", "TSLA"),
    ("Direxion Daily NVDA Bear 1.5X Shares", "NVDA"),
    ("GraniteShares 2x Long NVDA Daily ETF", "NVDA"),
    ("Direxion Daily FTSE China Bull 3X Shares", "EEM"),
    ("ProShares Ultra VIX Short-Term Futures ETF", None),
    ("ProShares Bitcoin Strategy ETF", None),
    ("Invesco DB US Dollar Index Bullish Fund", None),
    ("abrdn Platinum ETF Trust", None),
    ("ARK Innovation ETF", "SPY"),  # US equity without a closer benchmark
    ("Vanguard Real Estate ETF", "SPY"),
])
def test_correlation_reference(rules: EtfRules, name: str, correlation: str | None) -> None:
    assert rules.from_name(name).correlation_reference == correlation


@pytest.mark.parametrize("name", [None, "", "   "])
def test_nothing_from_no_name(rules: EtfRules, name: str | None) -> None:
    assert rules.attributes("ZZZZ", name) == EtfAttributes(None, None, None)


def test_correlation_references_of_the_reference_etfs(rules: EtfRules) -> None:
    products = {etf.ticker: etf for etf in reference.etfs()}
    found = {t: rules.attributes(t, etf.name).correlation_reference for t, etf in products.items()}
    assert {t for t, ref in found.items() if ref is None} == NO_BENCHMARK
    single_stocks = {"TSLL": "TSLA", "NVDU": "NVDA", "AAPU": "AAPL", "NVDL": "NVDA"}
    for ticker, ref in found.items():
        if ticker in single_stocks:
            assert ref == single_stocks[ticker]
        elif ref is not None:
            assert ref in products, (ticker, ref)  # a benchmark the loader can have bars for
    allowed = {
        "bond": {"AGG", "TLT"},
        "international": {"EFA", "EEM"},
        "broad_market": {"SPY", "QQQ", "IWM", "DIA", "ACWI"},
        "commodity": {"GLD", "SLV", "USO", "DBA", "DBB", "DBC", None},
        "volatility": {None},
    }
    for ticker, etf in products.items():
        if etf.category in allowed:
            assert found[ticker] in allowed[etf.category], (ticker, etf.name, found[ticker])


def test_every_reference_etf_gets_an_issuer_and_most_an_index(rules: EtfRules) -> None:
    found = [rules.attributes(etf.ticker, etf.name) for etf in reference.etfs()]
    assert all(a.issuer for a in found)
    with_index = sum(a.underlying_index is not None for a in found) / len(found)
    assert with_index > 0.4


@given(st.text(max_size=80), st.text(max_size=12))
def test_attributes_never_fail(name: str, ticker: str) -> None:
    found = load_etf_rules().attributes(ticker, name)
    assert found.correlation_reference is None or TICKER_PATTERN.match(found.correlation_reference)
