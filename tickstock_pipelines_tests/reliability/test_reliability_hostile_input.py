"""Hostile input, property-based (hypothesis) and by hand: tickers, symbol lists, CSV files (missing column,
BOM, a million rows streamed), years and months, universe keys, cache config files, and SQL injection
through every input of the CLI. Each gets one clear line or the right result, and nothing else is written.
"""

from __future__ import annotations

import csv
import json
import string
import subprocess
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tickstock_pipelines.cache.config import CacheConfig, CacheConfigError, load_config
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
from tickstock_pipelines_tests.support.cache_fixtures import add_entry, raw_rows
from tickstock_pipelines_tests.support.cli_helpers import tickstock
from tickstock_pipelines_tests.support.hostile_input import SQL_INJECTION
from tickstock_pipelines_tests.support.reliability_helpers import application_counts, cli_env
from tickstock_sandbox import SandboxServer

END = date(2025, 12, 31)
FAST = settings(max_examples=300, deadline=None)
WITH_DB = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture])

ticker_like = st.text(alphabet=string.ascii_letters + string.digits + ".-_ ;'\"$\\/\n\t\x00ßıﬀ€", max_size=14)
hostile_text = st.one_of(ticker_like, st.text(max_size=30), st.sampled_from(SQL_INJECTION))


def _one_line(message: str) -> None:
    assert message and "\n" not in message and "\r" not in message and len(message) < 400, message


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
        _one_line(str(exc))
        return
    assert TICKER_PATTERN.match(ticker) and ticker == raw.strip().upper() and raw.strip().isascii()


@FAST
@given(st.lists(hostile_text, max_size=8).map(",".join))
def test_a_symbol_list_is_refused_or_every_ticker_in_it_is_valid(text: str) -> None:
    try:
        tickers = parse_symbol_list(text)
    except LoadInputError as exc:
        _one_line(str(exc))
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
        _one_line(str(exc))
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
        _one_line(str(exc))
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
        _one_line(str(exc))
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
                _one_line(str(exc))
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
        _one_line(str(exc))
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


def _million_rows(path: Path, bad_last: bool = False) -> None:
    tickers = ["AAPL", "MSFT", "KO", "PEP", "BRK.B"]
    with open(path, "w", newline="") as handle:
        handle.write("date,symbol,weight\n")
        handle.writelines(f"2025-01-01,{tickers[i % 5]},{i}\n" for i in range(1_000_000))
        if bad_last:
            handle.write("2025-01-01,AAPL;DROP,1\n")


def test_a_million_row_csv_is_streamed(tmp_path: Path) -> None:
    path = tmp_path / "million.csv"
    _million_rows(path)
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
    _million_rows(path, bad_last=True)
    with pytest.raises(LoadInputError) as refused:
        read_symbols_csv(path)
    _one_line(str(refused.value))
    # the header is line 1, the million good rows lines 2..1,000,001: the bad one is line 1,000,002
    assert f"{path} line 1000002:" in str(refused.value) and "AAPL;DROP" in str(refused.value), refused.value


# --- cache config files -------------------------------------------------------------------------------------

yaml_scalars = st.one_of(hostile_text, st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
yaml_values = st.recursive(yaml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(string.ascii_lowercase + "_", max_size=12), inner,
                                                 max_size=3)), max_leaves=8)
config_docs = st.one_of(
    st.dictionaries(st.sampled_from(["themes", "market_cap", "industry_groups", "etf_categories",
                                     "sector_leaders", "complete", "quality", "leaders", "nope"]),
                    yaml_values, max_size=3),
    st.builds(lambda key, name, tickers: {"themes": {key: {"display_name": name, "tickers": tickers}}},
              st.text(max_size=12), hostile_text, st.lists(hostile_text, max_size=3)),
)


@settings(max_examples=100, deadline=None)
@given(config_docs)
@example({"themes": {"ai": {"display_name": "AI", "tickers": ["NVDA", "X'; DROP TABLE cache_entries"]}}})
def test_a_cache_config_file_is_refused_in_one_line_naming_the_file_or_is_valid(
        tmp_path_factory: pytest.TempPathFactory, document: dict) -> None:
    import yaml

    path = tmp_path_factory.mktemp("config") / "mine.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    try:
        config = load_config(path)
    except CacheConfigError as exc:
        _one_line(str(exc))
        assert str(path) in str(exc) or "(shipped)" in str(exc)
        return
    assert isinstance(config, CacheConfig)
    for theme in config.themes.values():
        assert all(TICKER_PATTERN.match(t) for t in theme.tickers)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
@example(b"\x80")
@example(b"\x00")
def test_a_cache_config_file_of_random_bytes_is_refused_in_one_line_or_is_valid(
        tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("config") / "bytes.yaml"
    path.write_bytes(content)
    try:
        load_config(path)
    except CacheConfigError as exc:
        _one_line(str(exc))


# --- SQL injection and other hostile input through every input of the CLI (subprocesses) --------------------


@pytest.fixture
def env(database_uri: str, redis_url: str, live_sandbox: SandboxServer) -> dict[str, str]:
    return cli_env(database_uri, redis_url, live_sandbox.base_url)


def _dagster_rows(uri: str) -> tuple[int, int]:
    """Runs and dynamic partitions in the Dagster instance's storage (the test's database, DATABASE_URI);
    0 while Dagster has not created its tables there yet."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as conn:
            counts = []
            for table in ("runs", "dynamic_partitions"):
                exists = conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"public.{table}"})
                # the table name is one of the two literals above, never input
                counts.append(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608
                              if exists.scalar_one() else 0)
            return counts[0], counts[1]
    finally:
        engine.dispose()


def _refused_in_one_line(result: subprocess.CompletedProcess[str], what: object) -> str:
    """The command failed, said why in exactly one line (returned), and printed no traceback."""
    assert result.returncode != 0, (what, result.stdout)
    stderr = result.stderr
    assert "Traceback" not in stderr, (what, stderr[-2000:])
    # One line says why: ours ("tickstock: error: …") or argparse's ("tickstock load: error: …").
    reasons = [line for line in stderr.splitlines() if line.startswith("tickstock") and "error" in line]
    assert len(reasons) == 1, (what, stderr[-2000:])
    return reasons[0]


@pytest.mark.slow
def test_a_million_row_csv_whose_last_row_is_bad_is_refused_by_load_before_any_call_or_write(
        env: dict[str, str], live_sandbox: SandboxServer, database_uri: str, tmp_path: Path) -> None:
    path = tmp_path / "million_bad.csv"
    _million_rows(path, bad_last=True)
    before, before_rows = application_counts(database_uri), raw_rows(database_uri)
    result = tickstock(env, "load", "--symbols-csv", str(path), timeout=300)
    reason = _refused_in_one_line(result, "million rows, bad last")
    assert result.returncode == 2 and "line 1000002" in reason and "AAPL;DROP" in reason, reason
    assert application_counts(database_uri) == before and raw_rows(database_uri) == before_rows
    assert live_sandbox.stats()["total_requests"] == 0
    assert _dagster_rows(database_uri) == (0, 0)


def _cli_inputs(tmp: Path) -> list[tuple[str, tuple[str, ...], dict[str, str]]]:
    cases: list[tuple[str, tuple[str, ...], dict[str, str]]] = []
    for i, payload in enumerate(SQL_INJECTION[:4]):  # every input, the four shapes of payload
        csv_file = tmp / f"inj{i}.csv"
        csv_file.write_text(f"symbol\nAAPL\n{payload.replace(chr(0), '')}\n")
        config = tmp / f"inj{i}.yaml"
        config.write_text(json.dumps({"themes": {"ai": {"display_name": "AI", "tickers": [payload]}}}))
        cases += [
            ("--symbols", ("load", "--symbols", payload), {}),
            ("--universe", ("load", "--universe", payload), {}),
            ("--symbols-csv content", ("load", "--symbols-csv", str(csv_file)), {}),
            ("--symbols-csv path", ("load", "--symbols-csv", str(tmp / payload.replace("/", "_"))), {}),
            ("--years", ("load", "--symbols", "AAPL", "--years", payload), {}),
            ("--months", ("load", "--symbols", "AAPL", "--months", payload), {}),
            ("--timespan", ("load", "--symbols", "AAPL", "--timespan", payload), {}),
            ("--priority", ("load", "--symbols", "AAPL", "--priority", payload), {}),
            ("report --symbols", ("cache", "report", "--symbols", payload), {}),
            ("rebuild --config", ("cache", "rebuild", "--config", str(config)), {}),
            ("TICKSTOCK_CACHE_CONFIG", ("cache", "rebuild"), {"TICKSTOCK_CACHE_CONFIG": str(config)}),
            ("rebuild --environment", ("cache", "rebuild", "--environment", payload), {}),
            ("report --environment", ("cache", "report", "--environment", payload), {}),
        ]
    return [c for c in cases if "\x00" not in " ".join(c[1])]  # argv cannot carry NUL at all


@pytest.mark.slow
def test_sql_injection_through_every_cli_input_is_refused_in_one_line_and_writes_nothing(
        env: dict[str, str], live_sandbox: SandboxServer, database_uri: str, tmp_path: Path) -> None:
    add_entry(database_uri, "app_settings", "ui", "theme", '{"dark": true}')
    before, before_rows = application_counts(database_uri), raw_rows(database_uri)
    cases = _cli_inputs(tmp_path)
    for what, args, extra in cases:
        result = tickstock({**env, **extra}, *args, timeout=120)
        _refused_in_one_line(result, (what, args))
        # Nothing of the DEFAULT cache, the symbols or the bars moved, and every table is still there.
        assert raw_rows(database_uri) == before_rows, (what, args)
        counts = application_counts(database_uri)
        assert counts[:6] == before[:6] and counts[7] == before[7], (what, args)
        # Refused before any call (the API heard nothing) and before any run or partition was created.
        assert live_sandbox.stats()["total_requests"] == 0, (what, args, live_sandbox.stats()["by_endpoint"])
        assert _dagster_rows(database_uri) == (0, 0), (what, args)
    assert len(cases) == 4 * 13
    # The instruments see what they must: a valid load through the same environment calls the API and is
    # a run in the same storage.
    result = tickstock(env, "load", "--symbols", "AAPL", "--months", "1", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert live_sandbox.stats()["total_requests"] > 0 and _dagster_rows(database_uri) == (1, 1)
