"""Hostile input, property-based (hypothesis) and by hand: tickers, symbol lists, CSV files (missing column,
BOM, a million rows streamed), years and months, universe keys. Each gets one clear line or the right
result, and nothing else is written. Cache config files and the CLI's inputs have their own modules.
"""

from __future__ import annotations

import csv
import json
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tickstock_pipelines.cli.cache import _tickers as report_tickers
from tickstock_pipelines.loading.request import LoadRequest, resolve
from tickstock_pipelines.loading.requests import (
    MAX_MONTHS,
    TICKER_PATTERN,
    LoadInputError,
    history_start,
    normalise_ticker,
    parse_symbol_list,
    read_symbols_csv,
)
from tickstock_pipelines_tests.support.cache_fixtures import add_entry
from tickstock_pipelines_tests.support.hostile_strategies import assert_one_line, hostile_text, million_rows
from tickstock_pipelines_tests.support.reliability_helpers import application_counts

END = date(2025, 12, 31)
FAST = settings(max_examples=300, deadline=None)
WITH_DB = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- tickers and symbol lists -------------------------------------------------------------------------------

@FAST
@given(hostile_text)
@example("brk.b")
@example("ß")
@example("...")
@example("AAPL\n")
def test_a_ticker_is_refused_in_one_line_or_is_a_valid_upper_case_ticker(raw: str) -> None:
    try:
        ticker = normalise_ticker(raw)
    except LoadInputError as exc:
        assert_one_line(str(exc))
        return
    assert TICKER_PATTERN.match(ticker) and ticker == raw.strip().upper() and raw.strip().isascii()


@FAST
@given(st.lists(hostile_text, max_size=8).map(",".join))
def test_a_symbol_list_is_refused_or_every_ticker_in_it_is_valid(text: str) -> None:
    try:
        tickers = parse_symbol_list(text)
    except LoadInputError as exc:
        assert_one_line(str(exc))
        return
    assert tickers and len(set(tickers)) == len(tickers)
    assert all(TICKER_PATTERN.match(t) for t in tickers)


@FAST
@given(st.lists(hostile_text, max_size=6).map(",".join))
@example("ß")
@example("ı")
def test_cache_report_symbols_accept_exactly_the_tickers_a_load_accepts(text: str) -> None:
    parts = [p for p in text.split(",") if p.strip()]
    try:
        expected = list(dict.fromkeys(normalise_ticker(p) for p in parts)) or None
    except LoadInputError:
        expected = None
    try:
        tickers = report_tickers(text)
    except ValueError as exc:
        assert_one_line(str(exc))
        assert expected is None, expected
        return
    assert tickers == expected or (not parts and tickers is None)


# --- history windows ----------------------------------------------------------------------------------------

@FAST
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**6, 10**6), st.booleans(),
                 st.text(max_size=5), st.none()))
@example(10.0)
@example(1e-9)
@example(10.000001)
def test_years_are_refused_or_give_the_documented_window(years: object) -> None:
    try:
        start = history_start(END, years=years)  # type: ignore[arg-type]
    except LoadInputError as exc:
        assert_one_line(str(exc))
        return
    value = 1 if years is None else float(years)  # type: ignore[arg-type]
    assert 0 < value <= 10 and not isinstance(years, bool | str)
    assert (END - start).days + 1 == max(1, round(value * 365.25))


@FAST
@given(st.one_of(st.integers(-10**9, 10**9), st.floats(), st.booleans(), st.text(max_size=4)))
def test_months_are_refused_or_give_the_documented_window(months: object) -> None:
    try:
        start = history_start(END, months=months)  # type: ignore[arg-type]
    except LoadInputError as exc:
        assert_one_line(str(exc))
        return
    assert isinstance(months, int) and not isinstance(months, bool) and 1 <= months <= MAX_MONTHS
    assert start <= END and END - start < timedelta(days=31 * months + 1)


# --- universe keys, through resolve() against a real database -----------------------------------------------

@WITH_DB
@given(st.one_of(hostile_text, st.sampled_from(["sp500", "DOW30", " nasdaq100 ", "top_50", "x" * 101])))
def test_a_universe_key_is_refused_or_resolves_and_nothing_is_written(database_uri: str, key: str) -> None:
    before = application_counts(database_uri)
    engine = sa.create_engine(database_uri)
    try:
        with engine.connect() as conn:
            try:
                resolved = resolve(LoadRequest(universe=key), conn, END)
            except LoadInputError as exc:
                assert_one_line(str(exc))
            else:
                assert key.strip().lower() in ("sp500", "dow30", "nasdaq100")
                assert all(TICKER_PATTERN.match(s) for s in resolved.symbols)
    finally:
        engine.dispose()
    assert application_counts(database_uri) == before


def test_a_universe_in_cache_entries_with_a_hostile_member_is_refused(database_uri: str) -> None:
    add_entry(database_uri, "stock_universe", "custom", "mine",
              json.dumps(["AAPL", "X'; DROP TABLE symbols"]))
    before = application_counts(database_uri)
    engine = sa.create_engine(database_uri)
    with engine.connect() as conn, pytest.raises(LoadInputError) as refused:
        resolve(LoadRequest(universe="mine"), conn, END)
    engine.dispose()
    assert "stock_universe|custom|mine" in str(refused.value) and "invalid ticker" in str(refused.value)
    assert application_counts(database_uri) == before


# --- CSV files ----------------------------------------------------------------------------------------------

cells = st.one_of(hostile_text, st.sampled_from(["AAPL", "msft", " brk.b ", "", "KO"]))


@FAST
@given(header=st.lists(st.sampled_from(["symbol", "Symbol", " SYMBOL ", "ticker", "name", "", "symbol;x"]),
                       min_size=1, max_size=3),
       rows=st.lists(st.lists(cells, min_size=0, max_size=3), max_size=6), bom=st.booleans(),
       newline=st.sampled_from(["\n", "\r\n"]))
def test_a_csv_is_refused_in_one_line_or_gives_exactly_its_symbol_column(
        tmp_path_factory: pytest.TempPathFactory, header: list[str], rows: list[list[str]], bom: bool,
        newline: str) -> None:
    path = tmp_path_factory.mktemp("csv") / "symbols.csv"
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, lineterminator=newline).writerows([header, *rows])
    try:
        tickers = read_symbols_csv(path)
    except LoadInputError as exc:
        assert_one_line(str(exc))
        assert str(path) in str(exc)
        return
    column = [h.strip().lower() for h in header].index("symbol")
    expected = list(dict.fromkeys(normalise_ticker(r[column]) for r in rows
                                  if len(r) > column and r[column].strip()))
    assert list(tickers) == expected


def test_a_csv_with_a_bom_and_without_a_symbol_column(tmp_path: Path) -> None:
    with_bom = tmp_path / "bom.csv"
    with_bom.write_bytes("\ufeffSymbol,weight\r\nko,1\r\nPEP,2\r\n".encode())
    assert read_symbols_csv(with_bom) == ("KO", "PEP")
    missing = tmp_path / "missing.csv"
    missing.write_text("ticker,name\nAAPL,Apple\n")
    with pytest.raises(LoadInputError, match="has no 'symbol' column"):
        read_symbols_csv(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("symbol\nAAPL\nM\xfcNCH\n".encode("latin-1"))
    with pytest.raises(LoadInputError, match="not UTF-8"):
        read_symbols_csv(latin)


def test_a_million_row_csv_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    million_rows(path)
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        tickers = read_symbols_csv(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tickers == ("AAPL", "MSFT", "KO", "PEP", "BRK.B")
    assert peak < 5_000_000, f"{peak / 1e6:.1f} MB for a {path.stat().st_size / 1e6:.0f} MB file"


def test_a_million_row_csv_whose_last_row_is_bad_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "million_bad.csv"
    million_rows(path, bad_last=True)
    with pytest.raises(LoadInputError) as refused:
        read_symbols_csv(path)
    assert_one_line(str(refused.value))
    # the header is line 1, the million good rows lines 2..1,000,001: the bad one is line 1,000,002
    assert f"{path} line 1000002:" in str(refused.value) and "AAPL;DROP" in str(refused.value), refused.value
