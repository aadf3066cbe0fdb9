"""ETF issuer, underlying index and correlation reference from name rules, checked against real ETFs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickstock_pipelines import reference
from tickstock_pipelines.loading.etf_rules import (
    EtfAttributes,
    EtfRules,
    EtfRulesError,
    load_etf_rules,
)
from tickstock_pipelines.loading.requests import TICKER_PATTERN

SHIPPED = Path(__file__).parents[2] / "tickstock_pipelines" / "config" / "etf_rules.yaml"

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


# --- never invented: no AUM or expense ratio ----------------------------------------------------------------


def test_no_aum_or_expense_ratio_is_ever_produced() -> None:
    assert [f.name for f in dataclasses.fields(EtfAttributes)] == [
        "issuer", "underlying_index", "correlation_reference"]
    text = SHIPPED.read_text().lower()
    assert "aum_millions" not in text and "expense_ratio" not in text


@pytest.mark.parametrize("field", ["aum_millions", "expense_ratio"])
def test_an_override_cannot_set_aum_or_expense_ratio(tmp_path: Path, field: str) -> None:
    path = _write(tmp_path, f"version: 1\noverrides:\n  SPY:\n    issuer: X\n    {field}: 0.09\n")
    with pytest.raises(EtfRulesError, match=rf"line 5: overrides\.SPY\.{field}: Extra inputs are not"):
        load_etf_rules(path)


# --- overrides ------------------------------------------------------------------------------------

CUSTOM = """\
version: 1
issuers:
  - {pattern: '^Acme\\b', issuer: Acme Funds}
underlying_indexes:
  - {pattern: '\\bS&P 500\\b', index: S&P 500}
  - {pattern: '\\bWidget (?P<size>Large|Small) Index\\b', index: 'Widget \\g<size>'}
correlation:
  default: SPY
  rules:
    - {index: '^Nasdaq', reference: QQQ}
    - {name: '\\bon (?P<t>[A-Z]{1,5})\\b', reference: '\\g<t>'}
    - {name: '\\bVolatility\\b', reference: null}
overrides:
  ACME: {issuer: Acme Override}
  NASD: {underlying_index: Nasdaq-100}
  NOIX: {underlying_index: null}
  CORR: {correlation_reference: IWM}
  GONE: {issuer: null, correlation_reference: null}
  'ON': {issuer: Quoted Ticker}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("ticker", "name", "expected"), [
    ("XXXX", "Acme S&P 500 ETF", ("Acme Funds", "S&P 500", "SPY")),
    ("ACME", "Acme S&P 500 ETF", ("Acme Override", "S&P 500", "SPY")),
    ("acme", "Acme S&P 500 ETF", ("Acme Override", "S&P 500", "SPY")),
    ("NASD", "Acme Growth ETF", ("Acme Funds", "Nasdaq-100", "QQQ")),  # the overridden index steers it
    ("NASD", None, (None, "Nasdaq-100", "QQQ")),
    ("NOIX", "Acme S&P 500 ETF", ("Acme Funds", None, "SPY")),
    ("CORR", "Acme S&P 500 ETF", ("Acme Funds", "S&P 500", "IWM")),
    ("GONE", "Acme S&P 500 ETF", (None, "S&P 500", None)),
    ("ON", "Other Fund", ("Quoted Ticker", None, "SPY")),
    ("XXXX", "Acme Widget Small Index ETF", ("Acme Funds", "Widget Small", "SPY")),
    ("XXXX", "Acme Covered Calls on MSFT", ("Acme Funds", None, "MSFT")),
    ("XXXX", "Acme Volatility Fund", ("Acme Funds", None, None)),
])
def test_overrides_win_over_name_rules(tmp_path: Path, ticker: str, name: str | None,
                                       expected: tuple[str | None, ...]) -> None:
    rules = load_etf_rules(_write(tmp_path, CUSTOM))
    assert rules.attributes(ticker, name) == EtfAttributes(*expected)


def test_shipped_rules_are_cached_and_user_files_are_not(tmp_path: Path) -> None:
    assert load_etf_rules() is load_etf_rules()
    path = _write(tmp_path, CUSTOM)
    assert load_etf_rules(path) is not load_etf_rules(path)


# --- bad files ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "line", "message"), [
    ("version: 1\nissuers:\n  - {pattern: '^iShares(', issuer: BlackRock}\n", 3,
     "issuers[0].pattern: invalid regular expression"),
    ("version: 1\nissuers:\n  - {pattern: '^iShares', issuer: ''}\n", 3, "issuers[0].issuer"),
    ("version: 1\nissuers:\n  - {pattern: '^iShares'}\n", 3, "issuers[0].issuer: Field required"),
    ("version: 1\nunderlying_indexes:\n  - {pattern: 'S&P (\\d+)', index: 'S&P \\2'}\n", 3,
     "refers to a group its pattern does not have"),
    ("version: 1\nunderlying_indexes:\n  - {pattern: 'S&P (\\d+)', index: 'S&P \\n1'}\n", 3,
     "only \\1 or \\g<name> may follow a backslash"),
    ("version: 1\ncorrelation:\n  rules:\n    - {name: 'Gold', reference: gold}\n", 4,
     "reference 'gold' is not a ticker"),
    ("version: 1\ncorrelation:\n  rules:\n    - {reference: SPY}\n", 4, "needs a name or an index pattern"),
    ("version: 1\ncorrelation:\n  rules:\n    - {name: 'Gold'}\n", 4, "reference: Field required"),
    ("version: 1\ncorrelation:\n  default: 'S P Y'\n", 3, "correlation.default: 'S P Y' is not a ticker"),
    ("version: 1\noverrides:\n  'AAPL;X': {issuer: X}\n", 3, "'AAPL;X' is not a ticker"),
    ("version: 1\noverrides:\n  SPY: {}\n", 3, "an override needs at least one of"),
    ("version: 1\noverrides:\n  SPY: {issuer: X}\n  ON: {issuer: X}\n", 4, "quote the ticker, e.g. 'ON'"),
    ("version: 1\noverrides:\n  SPY: {issuer: X}\n  SPY: {issuer: Y}\n", 4, "duplicate key 'SPY'"),
    ("version: 1\noverrides:\n  SPY: {correlation_reference: 'spy x'}\n", 3, "is not a ticker"),
    ("version: 2\n", 1, "version"),
    ("version: 1\nissuer_rules: []\n", 2, "issuer_rules: Extra inputs are not permitted"),
    ("version: 1\nissuers: [\n", 3, "expected the node content"),
])
def test_bad_files_name_their_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(EtfRulesError) as info:
        load_etf_rules(path)
    error = str(info.value)
    assert error.startswith(f"{path} line {line}:"), error
    assert message in error, error
    assert len(error.splitlines()) == 1


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(EtfRulesError, match=r"nope\.yaml: cannot read"):
        load_etf_rules(tmp_path / "nope.yaml")
    with pytest.raises(EtfRulesError, match="the file is empty"):
        load_etf_rules(_write(tmp_path, ""))
