"""ETF rules as files: no AUM or expense ratio is ever produced, overrides win over name rules, the
shipped rules are cached, bad files are named by line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tickstock_pipelines.loading.etf_rules import (
    EtfAttributes,
    EtfRulesError,
    load_etf_rules,
)

SHIPPED = Path(__file__).parents[2] / "tickstock_pipelines" / "config" / "etf_rules.yaml"


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
