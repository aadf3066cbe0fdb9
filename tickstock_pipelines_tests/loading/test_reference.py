"""The packaged S&P 500 reference data: complete, joined, and with the published gaps kept as gaps."""

from tickstock_pipelines.reference import sp500


def test_sp500_is_complete_and_joined() -> None:
    rows = {c.symbol: c for c in sp500()}
    assert len(rows) == 503
    assert rows["AAPL"].gics_sector == "Information Technology"
    assert rows["AAPL"].market_cap and rows["AAPL"].market_cap > 1e12
    assert rows["MMM"].gics_sub_industry == "Industrial Conglomerates"


def test_missing_figures_stay_missing() -> None:
    rows = {c.symbol: c for c in sp500()}
    assert rows["BRK.B"].market_cap is None
    assert sum(c.market_cap is None for c in rows.values()) >= 3
