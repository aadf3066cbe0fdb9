"""The `symbols` Launchpad config: the type carries the bounds (Dagster refuses before any run), tickers as
a comma-separated string or a list, and what a type cannot say (`tickstock load --years`, which reaches the
run as its `tickstock/history` tag) fails at the start of the run in one line."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from dagster import validate_run_config

from tickstock_pipelines.definitions import defs
from tickstock_pipelines.loading.request import HISTORY_TAG, Window
from tickstock_pipelines.loading.requests import LoadInputError
from tickstock_pipelines_tests.support.market_data_runs import run_load


def _symbols_config(config: dict[str, Any]) -> dict[str, Any]:
    return {"ops": {"symbols": {"config": config}}}


def test_a_history_beyond_ten_years_is_refused_by_config_validation_before_any_run() -> None:
    job = defs.resolve_job_def("load_job")
    validate_run_config(job, _symbols_config({"symbols": "AAPL,MSFT", "history": "TEN_YEARS"}))
    validate_run_config(job, _symbols_config({"symbols": ["AAPL", "MSFT"], "history": "ONE_MONTH"}))
    with pytest.raises(Exception, match="not in enum type History got TWENTY_YEARS"):
        validate_run_config(job, _symbols_config({"symbols": "AAPL", "history": "TWENTY_YEARS"}))
    with pytest.raises(Exception, match='unexpected config entry "years"'):  # the CLI's flag is no config
        validate_run_config(job, _symbols_config({"symbols": "AAPL", "years": 20}))
    from tickstock_pipelines.assets.symbols import symbols

    fields = symbols.op.config_schema.config_type.fields
    assert fields["history"].description and "TEN_YEARS" in fields["history"].description
    assert fields["symbols"].description and "comma-separated" in fields["symbols"].description


@pytest.mark.parametrize(("window", "tag"), [
    (Window(years=2.0), "2 years"), (Window(years=2.5), "2.5 years"), (Window(months=7), "7 months"),
    (Window(years=0.123456789), "0.123456789 years")])  # every digit: the run starts on the CLI's day
def test_the_clis_years_and_months_reach_the_run_as_its_history_tag_and_back(window: Window,
                                                                             tag: str) -> None:
    assert window.tags() == {HISTORY_TAG: tag} and Window.of_tags(window.tags()) == window
    assert Window.of_tags({}) is None
    for bad in ("20", "7.5 months", "ten years"):
        with pytest.raises(LoadInputError, match=f"^the run's tag {HISTORY_TAG} must read 'Y years' or "):
            Window.of_tags({HISTORY_TAG: bad})


def test_symbols_as_a_comma_separated_string_load_and_years_out_of_range_fail_in_one_line(
        instance: Any, resources: dict[str, Any], database_uri: str) -> None:
    result = run_load(instance, resources, {"symbols": "ko, pep", "history": "ONE_MONTH"}, ["KO", "PEP"],
                      ["symbols"])
    assert result.success
    with sa.create_engine(database_uri).connect() as conn:
        assert set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars()) == {"KO", "PEP"}
    bad = run_load(instance, resources, {"symbols": "PLTR", "years": 20}, ["PLTR"], ["symbols"])
    assert not bad.success
    [failure] = [e for e in bad.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.event_specific_data.error.message
    [line] = message.strip().splitlines()  # "…Failure: <the reason>", one line
    assert line.split(": ", 1)[1] == (
        "history must be more than 0 and at most 10 years, got 20 years; the Launchpad's choices: enum type "
        "History (ONE_MONTH, THREE_MONTHS, SIX_MONTHS, ONE_YEAR, TWO_YEARS, THREE_YEARS, FIVE_YEARS, "
        "TEN_YEARS: 1 month to 10 years)")
    with sa.create_engine(database_uri).connect() as conn:  # refused before anything was written
        assert set(conn.execute(sa.text("SELECT symbol FROM symbols")).scalars()) == {"KO", "PEP"}
        assert conn.execute(sa.text("SELECT count(*) FROM load_requests")).scalar_one() == 1


def test_all_stocks_resolves_to_every_active_common_stock_in_one_paged_list_call(
        live_sandbox: Any, database_uri: str) -> None:
    from tickstock_pipelines.loading.request import LoadRequest, resolve
    from tickstock_pipelines.market_calendar import last_completed_session
    from tickstock_pipelines.resources.polygon import PolygonResource
    from tickstock_sandbox.universe import reference_universe

    stocks = {t for t, s in reference_universe().items() if s.type == "CS" and s.active}
    before = live_sandbox.stats()["by_endpoint"]
    client = PolygonResource(base_url=live_sandbox.base_url).get_client()
    with client, sa.create_engine(database_uri).connect() as conn:
        resolved = resolve(LoadRequest(universe="ALL_STOCKS"), conn, last_completed_session(), lambda: client)
    after = live_sandbox.stats()["by_endpoint"]
    assert set(resolved.symbols) == stocks and resolved.universe == "all_stocks"
    assert resolved.refs == ()  # stocks get their details (SIC code, market cap) in the run
    assert {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)} == {
        "/v3/reference/tickers": 1}


def test_all_stocks_and_all_etfs_resolve_to_the_whole_market_with_one_list_call_each(
        live_sandbox: Any, database_uri: str) -> None:
    """`all_stocks,all_etfs` (the Launchpad's universe field takes several keys as the CLI does): every
    active stock and ETF, the ETF list items kept (no details call for them); the run, given the CLI's
    tickers, lists only the ETFs again. A bad key among them is refused before any list call."""
    from tickstock_pipelines.loading.request import LoadRequest, resolve
    from tickstock_pipelines.loading.requests import LoadInputError
    from tickstock_pipelines.market_calendar import last_completed_session
    from tickstock_pipelines.resources.polygon import PolygonResource
    from tickstock_sandbox.universe import reference_universe

    active = {t: s.type for t, s in reference_universe().items() if s.active and s.type in ("CS", "ETF")}
    client = PolygonResource(base_url=live_sandbox.base_url).get_client()
    end = last_completed_session()
    with client, sa.create_engine(database_uri).connect() as conn:
        market = resolve(LoadRequest(universe="all_stocks,ALL_ETFS"), conn, end, lambda: client)
        assert client.calls["tickers"] == 2 and market.etf_list_pages == 1
        in_run = resolve(LoadRequest(universe="all_stocks,all_etfs"), conn, end, lambda: client,
                         tickers=market.symbols)
        assert client.calls["tickers"] == 3
        with pytest.raises(LoadInputError, match="^unknown universe 'nope'"):
            resolve(LoadRequest(universe="all_stocks,nope"), conn, end, lambda: client)
        assert client.calls["tickers"] == 3
    assert set(market.symbols) == set(active) and len(market.symbols) == len(active)
    assert market.universe == "all_stocks,all_etfs"
    assert {r.ticker for r in market.refs} == {t for t, kind in active.items() if kind == "ETF"}
    assert in_run.symbols == market.symbols and in_run.refs == market.refs
